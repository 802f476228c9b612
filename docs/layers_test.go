package docs_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayers holds the layout README.md describes: imports run one way,
// adapters → function → core. core and its subpackages use the standard
// library and each other only, so core can be lifted out as a library;
// function imports no adapter; nothing under internal/ imports function or
// an adapter. Test files are not checked: tests may use anything.
func TestLayers(t *testing.T) {
	root := ".."
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel == "benchmarks" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" || d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		checked++
		for _, imp := range pkg.Imports {
			if reason := forbidden(rel, imp); reason != "" {
				t.Errorf("%s imports %s: %s", rel, imp, reason)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages", checked)
	}
}

// forbidden says why the package at dir (relative to the module root) may
// not import imp, or "" when it may.
func forbidden(dir, imp string) string {
	own, ok := strings.CutPrefix(imp, "smsverify/")
	under := func(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	switch {
	case under(dir, "core"):
		if ok && !under(own, "core") || !ok && strings.Contains(strings.Split(imp, "/")[0], ".") {
			return "core uses the standard library and its own packages only"
		}
	case under(dir, "internal"):
		if ok && (under(own, "function") || under(own, "adapters")) {
			return "internal/ serves every layer and imports none above core"
		}
	case under(dir, "function"):
		if ok && under(own, "adapters") {
			return "function imports no adapter"
		}
	}
	return ""
}

func TestForbidden(t *testing.T) {
	for _, tc := range []struct {
		dir, imp string
		bad      bool
	}{
		{"core", "net/http", false},
		{"core", "smsverify/core/acs3", false},
		{"core/dypnstest", "smsverify/core", false},
		{"core", "smsverify/internal/jsonobj", true},
		{"core/acs3", "github.com/x/y", true},
		{"internal/platform", "smsverify/function", true},
		{"internal/testclock", "smsverify/adapters/lambda", true},
		{"internal/apitest", "smsverify/core", false},
		{"function/limit", "smsverify/adapters/internal/platform", true},
		{"function", "smsverify/core", false},
		{"adapters/lambda", "smsverify/function", false},
	} {
		if got := forbidden(tc.dir, tc.imp) != ""; got != tc.bad {
			t.Errorf("forbidden(%s, %s) = %v, want %v", tc.dir, tc.imp, got, tc.bad)
		}
	}
}
