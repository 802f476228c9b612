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
const maxLambdaBootstrap = 8 << 20

// TestLambdaBootstrapSize builds the Lambda bootstrap with the Makefile's
// own command (a link from the build cache after `make build`; about 40 s
// of CPU from a cold cache; skipped with -short) and holds it under 8 MiB.
func TestLambdaBootstrapSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the Lambda bootstrap")
	}
	lb, err := loadFiles(t, nil).make.buildOf("adapters/lambda")
	if err != nil {
		t.Fatal(err)
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
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, msg)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxLambdaBootstrap {
		t.Errorf("the stripped Lambda bootstrap (%s) is %d bytes (%.2f MiB), want under %d (8 MiB): "+
			"a new dependency? `go version -m` on it lists the modules", lb.out, fi.Size(), float64(fi.Size())/(1<<20), maxLambdaBootstrap)
	}
	t.Logf("%s: %d bytes (%.2f MiB)", lb.out, fi.Size(), float64(fi.Size())/(1<<20))
}
