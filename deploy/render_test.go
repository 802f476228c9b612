package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"smsverify/function"
)

// tool finds an outside program the deploy tests run. It skips the test with
// how to install it when the program is missing, unless the variable
// require is set (CI sets it), which makes a missing program a failure.
func tool(t *testing.T, name, require, install string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	if os.Getenv(require) != "" {
		t.Fatalf("%s is not on PATH and %s is set: %s", name, require, install)
	}
	t.Skipf("%s is not on PATH (%s; set %s=1 to make this a failure)", name, install, require)
	return ""
}

// serverlessDevs runs the Serverless Devs CLI (`s`) in a private HOME that
// holds a dummy credential alias, so nothing of the user's ~/.s is read and
// no real key is needed: `s preview` renders s.yaml locally (its
// ${config('AccountID')} comes from the alias) and needs no network (3.1.10
// renders the same in a network namespace with no interface, `unshare -n`);
// set-config.yml turns its usage reports off.
type serverlessDevs struct {
	bin, home string
}

func newServerlessDevs(t *testing.T) serverlessDevs {
	t.Helper()
	s := serverlessDevs{
		bin:  tool(t, "s", "SMSVERIFY_REQUIRE_S", "npm install -g @serverless-devs/s"),
		home: t.TempDir(),
	}
	// No usage reports from the throwaway HOME.
	if err := os.MkdirAll(filepath.Join(s.home, ".s"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, ".s", "set-config.yml"), []byte("analysis: disable\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := s.run(nil, "config", "add", "-a", "default", "-f",
		"--AccessKeyID", "LTAI5tDummyDeployTest", "--AccessKeySecret", "dummy-deploy-test-secret",
		"--AccountID", "1234567890123456"); err != nil {
		t.Fatalf("s config add: %v\n%s", err, out)
	}
	return s
}

// run runs s with args in the module root. The environment holds only
// PATH, the private HOME and env: no variable of the caller's shell (CI
// sets REDIS_URL) reaches the ${env(...)} expressions.
func (s serverlessDevs) run(env map[string]string, args ...string) ([]byte, error) {
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.home}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// preview renders the s.yaml text with `s preview -o json` and returns the
// rendered document.
func (s serverlessDevs) preview(t *testing.T, text string, env map[string]string) (map[string]any, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := s.run(env, "preview", "-t", file, "-o", "json", "--silent")
	if err != nil {
		return nil, fmt.Errorf("s preview: %v\n%s", err, out)
	}
	var doc map[string]any
	if i := bytes.IndexByte(out, '{'); i < 0 || json.Unmarshal(out[i:], &doc) != nil {
		return nil, fmt.Errorf("s preview printed no JSON document:\n%s", out)
	}
	return doc, nil
}

// renderedEnvs returns the environmentVariables of each fc3 resource of a
// rendered s.yaml, and the problems with them: a value that is not a
// string (Function Compute takes strings only), a variable function.Config
// does not read, or one it reads that the deploy must set (all but
// notDeployed and lambdaOnly) and that is missing.
func renderedEnvs(f deployFiles, doc map[string]any) (map[string]map[string]string, []string) {
	var p []string
	envs := map[string]map[string]string{}
	for name, r := range mapOf(doc["resources"]) {
		if str(dig(r, "component")) != "fc3" {
			continue
		}
		env := map[string]string{}
		for k, v := range mapOf(dig(r, "props", "environmentVariables")) {
			s, ok := v.(string)
			if !ok {
				p = append(p, fmt.Sprintf("rendered s.yaml %s: %s is %T %v, not a string", name, k, v, v))
			}
			env[k] = s
			if _, ok := f.cfg[k]; !ok {
				p = append(p, fmt.Sprintf("rendered s.yaml %s sets %s, which function.Config does not read", name, k))
			}
		}
		for k := range f.cfg {
			_, neither := notDeployed[k]
			_, lambda := lambdaOnly[k]
			if _, set := env[k]; !set && !neither && !lambda {
				p = append(p, fmt.Sprintf("rendered s.yaml %s lacks %s (set it, or list it in notDeployed)", name, k))
			}
		}
		envs[name] = env
	}
	if len(envs) == 0 {
		p = append(p, "rendered s.yaml has no fc3 resource")
	}
	slices.Sort(p)
	return envs, p
}

// configDiff loads function.Config from env alone (every other variable
// unset) and names the variables whose values differ from the Config of an
// empty environment: the documented defaults.
func configDiff(t *testing.T, f deployFiles, env map[string]string) ([]string, error) {
	t.Helper()
	load := func(env map[string]string) (function.Config, error) {
		for name := range f.cfg {
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range env {
			if err := os.Setenv(k, v); err != nil {
				t.Fatal(err)
			}
		}
		return function.LoadConfig()
	}
	for name := range f.cfg {
		t.Setenv(name, "") // restored after the test, whatever load does
	}
	def, err := load(nil)
	if err != nil {
		return nil, fmt.Errorf("function.Config of an empty environment: %w", err)
	}
	got, err := load(env)
	if err != nil {
		return nil, fmt.Errorf("function.Config of the rendered environment: %w", err)
	}
	var diff []string
	gv, dv := reflect.ValueOf(got), reflect.ValueOf(def)
	for i := range gv.NumField() {
		g, d := gv.Field(i), dv.Field(i)
		if g.Kind() == reflect.Slice && g.Len() == 0 && d.Len() == 0 {
			continue // an empty list, set or not
		}
		if !reflect.DeepEqual(g.Interface(), d.Interface()) {
			diff = append(diff, gv.Type().Field(i).Tag.Get("envconfig"))
		}
	}
	slices.Sort(diff)
	return diff, nil
}

// TestSPreview renders s.yaml with the real Serverless Devs CLI, as the
// first step of `s deploy` does, and checks the rendered environment
// against function.Config both ways: with no deploy-time variables it is
// exactly Config's defaults (every variable it sets exists, every one the
// deploy must set is there, none changes a default), and each variable set
// in the deploying shell reaches the function unchanged.
func TestSPreview(t *testing.T) {
	s := newServerlessDevs(t)
	f := loadFiles(t, nil)
	text, err := os.ReadFile(filepath.Join(root, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("defaults", func(t *testing.T) {
		doc, err := s.preview(t, string(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		envs, p := renderedEnvs(f, doc)
		for _, e := range p {
			t.Error(e)
		}
		for name, env := range envs {
			diff, err := configDiff(t, f, env)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(diff) > 0 {
				t.Errorf("rendered s.yaml %s changes the defaults of %v: with nothing set at deploy time the function must run with function.Config's defaults", name, diff)
			}
		}
	})

	t.Run("deploy-time values", func(t *testing.T) {
		env := map[string]string{}
		for name := range f.cfg {
			env[name] = "from-shell-" + strings.ToLower(name)
		}
		doc, err := s.preview(t, string(text), env)
		if err != nil {
			t.Fatal(err)
		}
		envs, _ := renderedEnvs(f, doc)
		for name, rendered := range envs {
			for k, v := range rendered {
				if v != env[k] {
					t.Errorf("rendered s.yaml %s: %s = %q with %s=%q in the deploying shell", name, k, v, k, env[k])
				}
			}
		}
	})
}

// TestSPreviewCatchesBreakage renders broken copies of s.yaml: the CLI or
// the checks of TestSPreview must reject each.
func TestSPreviewCatchesBreakage(t *testing.T) {
	s := newServerlessDevs(t)
	f := loadFiles(t, nil)
	b, err := os.ReadFile(filepath.Join(root, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	tests := []struct{ name, old, new string }{
		{"braces in a default", "${env('LIMIT_KEY_PREFIX', vars.limitKeyPrefix)}", "${env('LIMIT_KEY_PREFIX', '{smsverify}:')}"},
		{"unknown vars entry", "vars.limitKeyPrefix)", "vars.keyPrefix)"},
		{"variable Config does not read", "LIMIT_STORE: ${env('LIMIT_STORE', 'memory')}", "LIMIT_STORES: ${env('LIMIT_STORE', 'memory')}"},
		{"default that is not Config's", "${env('LIMIT_MEMORY_MAX_KEYS', '200000')}", "${env('LIMIT_MEMORY_MAX_KEYS', '100000')}"},
		{"invalid value", "${env('LIMIT_STORE', 'memory')}", "${env('LIMIT_STORE', 'memcached')}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := strings.Count(text, tt.old); n != 1 {
				t.Fatalf("s.yaml holds %q %d times, want once: update this test", tt.old, n)
			}
			doc, err := s.preview(t, strings.Replace(text, tt.old, tt.new, 1), nil)
			if err != nil {
				t.Logf("caught by s preview: %.200s", err)
				return
			}
			envs, p := renderedEnvs(f, doc)
			for _, env := range envs {
				diff, err := configDiff(t, f, env)
				switch {
				case err != nil:
					p = append(p, err.Error())
				case len(diff) > 0:
					p = append(p, fmt.Sprintf("defaults changed: %v", diff))
				}
			}
			if len(p) == 0 {
				t.Fatalf("rendered fine and passed the checks after %q -> %q", tt.old, tt.new)
			}
			t.Logf("caught: %s", p[0])
		})
	}
}

// TestCfnLint lints template.yaml with cfn-lint, which applies the SAM
// transform locally and validates the result against the CloudFormation
// resource specifications (no AWS account or network). A broken copy must
// fail, so the linter is known to read the template.
func TestCfnLint(t *testing.T) {
	bin := tool(t, "cfn-lint", "SMSVERIFY_REQUIRE_CFN_LINT", "pip install cfn-lint")
	lint := func(file string) ([]byte, error) {
		cmd := exec.Command(bin, "--", file)
		cmd.Dir = root
		return cmd.CombinedOutput()
	}
	if out, err := lint("template.yaml"); err != nil {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "template.yaml")
	text := strings.Replace(string(b), "Runtime: provided.al2023", "Runtime: provided.al2099", 1)
	if err := os.WriteFile(broken, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := lint(broken); err == nil {
		t.Fatalf("cfn-lint passed a template with Runtime: provided.al2099:\n%s", out)
	}
}
