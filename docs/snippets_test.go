// Package docs_test checks the user documentation: every Go snippet in
// README.md and docs/*.md must compile against the current code.
package docs_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// snippet is one ```go block of a Markdown file.
type snippet struct {
	file   string // path relative to this package's directory
	line   int    // line of the first line of code in file
	params string // Go parameter list from a <!-- snippet-params: … --> comment
	code   string
}

// paramsPrefix introduces an HTML comment (invisible on GitHub) on the line
// just before a ```go fence, naming the snippet's free variables as a Go
// parameter list: <!-- snippet-params: ctx context.Context, typed string -->.
const paramsPrefix = "<!-- snippet-params:"

// imports maps the package names snippets may use without importing them to
// their import paths.
var imports = map[string]string{
	"context":     "context",
	"errors":      "errors",
	"fmt":         "fmt",
	"http":        "net/http",
	"httptest":    "net/http/httptest",
	"io":          "io",
	"json":        "encoding/json",
	"log":         "log",
	"os":          "os",
	"slog":        "log/slog",
	"strings":     "strings",
	"testing":     "testing",
	"time":        "time",
	"core":        "smsverify/core",
	"dypnstest":   "smsverify/core/dypnstest",
	"function":    "smsverify/function",
	"limit":       "smsverify/function/limit",
	"verifytoken": "smsverify/function/verifytoken",
	"jwt":         "github.com/golang-jwt/jwt/v5",
	"jose":        "github.com/go-jose/go-jose/v4",
	"josejwt":     "github.com/go-jose/go-jose/v4/jwt",
}

// importAlias names the imports whose package name is not what snippets
// call them.
var importAlias = map[string]string{
	"github.com/go-jose/go-jose/v4":     "jose",
	"github.com/go-jose/go-jose/v4/jwt": "josejwt",
}

// extract returns the ```go blocks of a Markdown file.
func extract(path string) ([]snippet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		out     []snippet
		cur     *snippet
		prev    string
		lineNum int
		body    strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lineNum++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```go":
			cur = &snippet{file: path, line: lineNum + 1}
			if p, ok := strings.CutPrefix(strings.TrimSpace(prev), paramsPrefix); ok {
				cur.params = strings.TrimSpace(strings.TrimSuffix(p, "-->"))
			}
			body.Reset()
		case cur != nil && trimmed == "```":
			cur.code = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line)
			body.WriteByte('\n')
		}
		prev = line
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unterminated ```go block", path, cur.line-1)
	}
	return out, sc.Err()
}

// program turns a snippet into a Go source file of package snippet. A snippet
// of top-level declarations is kept as it is; any other snippet is a list of
// statements and becomes the body of a function whose parameters are the
// snippet's params. Imports are added for the package names it uses; //line
// directives make compiler messages point into the Markdown file.
func program(s snippet) ([]byte, error) {
	mdPath, err := filepath.Abs(s.file)
	if err != nil {
		return nil, err
	}
	lineDirective := fmt.Sprintf("//line %s:%d\n", filepath.ToSlash(mdPath), s.line)

	var src string
	fset := token.NewFileSet()
	if f, err := parser.ParseFile(fset, "", "package snippet\n"+s.code, parser.SkipObjectResolution); err == nil && len(f.Decls) > 0 {
		if s.params != "" {
			return nil, fmt.Errorf("%s:%d: snippet-params on a snippet of declarations", s.file, s.line)
		}
		src = lineDirective + s.code
	} else {
		src = "func _(" + s.params + ") {\n" + lineDirective + s.code + "}\n"
	}

	// Find the package names the snippet uses but does not declare.
	f, err := parser.ParseFile(fset, "", "package snippet\n"+src, 0)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %v", s.file, s.line, err)
	}
	var paths []string
	if len(f.Imports) == 0 {
		for _, id := range f.Unresolved {
			if p, ok := imports[id.Name]; ok && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	slices.Sort(paths)
	var b strings.Builder
	b.WriteString("package snippet\n\n")
	for _, p := range paths {
		if alias := importAlias[p]; alias != "" {
			fmt.Fprintf(&b, "import %s %q\n", alias, p)
			continue
		}
		fmt.Fprintf(&b, "import %q\n", p)
	}
	b.WriteString(src)
	return []byte(b.String()), nil
}

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(exe); err == nil {
		return exe
	}
	exe, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build the snippets with: %v", err)
	}
	return exe
}

func markdownFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join("..", "README.md")}, files...)
}

// TestGoSnippetsCompile builds and vets every ```go block of README.md and
// docs/*.md, each as its own package inside this module, so a snippet that
// no longer matches the code fails here.
func TestGoSnippetsCompile(t *testing.T) {
	var all []snippet
	for _, md := range markdownFiles(t) {
		s, err := extract(md)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s...)
	}
	if len(all) == 0 {
		t.Fatal("no ```go blocks found; the extractor is broken")
	}
	readModuleSources(t)

	// Inside the module, so smsverify/... and its dependencies resolve; the
	// leading underscore keeps ./... patterns from ever matching it.
	dir, err := os.MkdirTemp(".", "_snippets")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	var pkgs []string
	for i, s := range all {
		src, err := program(s)
		if err != nil {
			t.Error(err)
			continue
		}
		pkg := filepath.Join(dir, fmt.Sprintf("s%d", i))
		if err := os.Mkdir(pkg, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, "snippet.go"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(pkg))
	}
	if t.Failed() {
		return
	}
	for _, verb := range []string{"build", "vet"} {
		out, err := exec.Command(goTool(t), append([]string{verb}, pkgs...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %s of the Go snippets in the docs failed (positions are in the Markdown files):\n%s", verb, out)
		}
	}
}

// readModuleSources reads every .go file of the module. The go command
// that builds the snippets reads them in another process, which go test's
// cache does not see; reading them here makes a change to any of them run
// this test again instead of reporting a cached pass.
func readModuleSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() && path != ".." {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExtract pins how blocks and their params are found, so the build test
// above cannot pass by finding nothing.
func TestExtract(t *testing.T) {
	md := filepath.Join(t.TempDir(), "x.md")
	text := "# T\n\n```sh\nls\n```\n\n<!-- snippet-params: ctx context.Context -->\n```go\na := 1\n_ = a\n```\n\n```go\nfunc f() {}\n```\n"
	if err := os.WriteFile(md, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := extract(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("found %d go blocks, want 2: %+v", len(got), got)
	}
	if got[0].line != 9 || got[0].params != "ctx context.Context" || got[0].code != "a := 1\n_ = a\n" {
		t.Errorf("first block = %+v", got[0])
	}
	if got[1].line != 14 || got[1].params != "" || got[1].code != "func f() {}\n" {
		t.Errorf("second block = %+v", got[1])
	}
	src, err := program(snippet{file: "x.md", line: 9, params: "ctx context.Context", code: "_ = core.Int64(1)\n_ = ctx\n"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`import "context"`, `import "smsverify/core"`, "func _(ctx context.Context) {\n//line ", "/x.md:9\n_ = core.Int64(1)"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("program lacks %q:\n%s", want, src)
		}
	}
}
