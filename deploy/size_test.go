package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxLambdaBootstrap is the most the stripped Lambda bootstrap may weigh:
// it is uploaded on every deploy and read at every cold start.
const maxLambdaBootstrap = 16 << 20

// TestLambdaBootstrapSize builds the Lambda bootstrap with the Makefile's
// own command for every architecture template.yaml may deploy (x86_64 and
// arm64: CI cross-builds both; a link from the build cache after `make
// build`, about 40 s of CPU each from a cold cache; skipped with -short) and
// holds each under 16 MiB.
func TestLambdaBootstrapSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the Lambda bootstrap")
	}
	f := loadFiles(t, nil)
	lb, err := f.make.buildOf("adapters/lambda")
	if err != nil {
		t.Fatal(err)
	}
	fns := samFunctions(f)
	if len(fns) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	archs, err := lambdaArchitectures(f, fns[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			goarch := goarchOf[arch]
			if goarch == "" {
				t.Fatalf("no GOARCH for Lambda architecture %q", arch)
			}
			out := filepath.Join(t.TempDir(), "bootstrap")
			args := []string{"build"}
			for _, f := range lb.flags {
				if !strings.HasPrefix(f, "-o=") {
					args = append(args, f)
				}
			}
			cmd := exec.Command("go", append(args, "-o="+out, lb.pkg)...)
			cmd.Dir = root
			cmd.Env = os.Environ()
			for k, v := range lb.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.Env = append(cmd.Env, "GOARCH="+goarch) // make ARCH=…
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOARCH=%s %v: %v\n%s", goarch, cmd.Args, err, msg)
			}
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() >= maxLambdaBootstrap {
				t.Errorf("the stripped Lambda bootstrap (%s, GOARCH=%s) is %d bytes (%.2f MiB), want under %d (16 MiB): "+
					"a new dependency? `go version -m` on it lists the modules", lb.out, goarch, fi.Size(), float64(fi.Size())/(1<<20), maxLambdaBootstrap)
			}
			t.Logf("%s GOARCH=%s: %d bytes (%.2f MiB)", lb.out, goarch, fi.Size(), float64(fi.Size())/(1<<20))
		})
	}
}
