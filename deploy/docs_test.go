package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// docTable is one Markdown table of docs/deploying.md: its rows by the
// first cell's `code`, each row's cells.
type docTable map[string][]string

// docTables reads the tables of a Markdown text by the first cell of
// their header row.
func docTables(text string) map[string]docTable {
	tables := map[string]docTable{}
	var cur docTable
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			cur = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case cur == nil:
			cur = docTable{}
			tables[cells[0]] = cur
		case strings.HasPrefix(cells[0], "---"):
		default:
			cur[strings.Trim(cells[0], "`")] = cells
		}
	}
	return tables
}

// docDefault is how the tables write a default: `value`, or "empty".
func docDefault(def string) string {
	if def == "" {
		return "empty"
	}
	return "`" + def + "`"
}

// Header cells of the two tables of docs/deploying.md.
const (
	docTableS   = "Deploy-time variable"
	docTableSAM = "Parameter"
)

// sEnvRefs returns every ${env(...)} expression of s.yaml by variable name:
// those in vars (the function's region, name, role) and those that set the
// function's environment.
func sEnvRefs(f deployFiles) map[string]envRef {
	refs := map[string]envRef{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			for _, m := range sExprRe.FindAllString(v, -1) {
				if ref, ok := f.envRef(m); ok {
					refs[ref.name] = ref
				}
			}
		}
	}
	walk(f.s)
	return refs
}

// checkDocs holds docs/deploying.md's two tables to the files, both ways:
// every deploy-time variable of s.yaml and every parameter of template.yaml
// has a row with its default (and, for a parameter, the variable it sets),
// and every row names one of them.
func checkDocs(f deployFiles, doc string) []string {
	var p []string
	tables := docTables(doc)
	rows := tables[docTableS]
	if rows == nil {
		return []string{"docs/deploying.md has no table headed " + docTableS}
	}
	refs := sEnvRefs(f)
	for name, ref := range refs {
		row, ok := rows[name]
		switch {
		case !ok:
			p = append(p, fmt.Sprintf("docs/deploying.md: s.yaml reads %s at deploy time; add it to the %q table", name, docTableS))
		case len(row) < 2 || row[1] != docDefault(ref.def):
			p = append(p, fmt.Sprintf("docs/deploying.md: %s's default is %s in s.yaml, the doc says %q", name, docDefault(ref.def), row[1:]))
		}
	}
	for name := range rows {
		if _, ok := refs[name]; !ok {
			p = append(p, fmt.Sprintf("docs/deploying.md lists %s, which s.yaml does not read", name))
		}
	}

	rows = tables[docTableSAM]
	if rows == nil {
		return append(p, "docs/deploying.md has no table headed "+docTableSAM)
	}
	sets := map[string][]string{} // parameter → the variables it sets
	for _, e := range templateEnvs(f) {
		for name, v := range e.vars {
			if ref := str(dig(v, "Ref")); ref != "" {
				sets[ref] = append(sets[ref], name)
			}
		}
	}
	params := mapOf(f.tpl["Parameters"])
	for name, v := range params {
		row, ok := rows[name]
		if !ok {
			p = append(p, fmt.Sprintf("docs/deploying.md: template.yaml has the parameter %s; add it to the %q table", name, docTableSAM))
			continue
		}
		want := "required"
		if d, has := mapOf(v)["Default"]; has {
			want = docDefault(str(d))
		}
		if len(row) < 3 || row[2] != want {
			p = append(p, fmt.Sprintf("docs/deploying.md: %s's default is %s in template.yaml, the doc says %q", name, want, row[1:]))
		}
		for _, env := range sets[name] {
			if len(row) < 2 || !strings.Contains(row[1], "`"+env+"`") {
				p = append(p, fmt.Sprintf("docs/deploying.md: %s sets %s; say so in its row", name, env))
			}
		}
	}
	for name := range rows {
		if _, ok := params[name]; !ok {
			p = append(p, fmt.Sprintf("docs/deploying.md lists the parameter %s, which template.yaml lacks", name))
		}
	}
	slices.Sort(p)
	return p
}

func readDeployingDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "deploying.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDeployingDoc holds docs/deploying.md's tables to s.yaml and
// template.yaml.
func TestDeployingDoc(t *testing.T) {
	for _, p := range checkDocs(loadFiles(t, nil), readDeployingDoc(t)) {
		t.Error(p)
	}
}

// TestDeployingDocCatchesDrift edits the files or the doc, one edit at a
// time: checkDocs must report each.
func TestDeployingDocCatchesDrift(t *testing.T) {
	doc := readDeployingDoc(t)
	tests := []struct{ file, old, new string }{
		{"docs/deploying.md", "| `LIMIT_KEY_SECRET` | empty |", "| `LIMIT_KEY_SECRETS` | empty |"},
		{"docs/deploying.md", "| `FC_ROLE_NAME` | `smsverify-fc` |", "| `FC_ROLE_NAME` | `smsverify` |"},
		{"docs/deploying.md", "| `LimitKeySecret` | `LIMIT_KEY_SECRET`", "| `LimitKeySecret` | `LIMIT_KEY`"},
		{"docs/deploying.md", "| `CaptchaTimeout` | `CAPTCHA_TIMEOUT` | `3s` |", "| `CaptchaTimeout` | `CAPTCHA_TIMEOUT` | `5s` |"},
		{"docs/deploying.md", "| `LogRetentionDays` |", "| `LogRetention` |"},
		{"s.yaml", "        SMS_TEST_NUMBERS: ${env('SMS_TEST_NUMBERS', '')}", "        SMS_TEST_NUMBERS: ${env('SMS_TEST_NUMBERS', '')}\n        DYPNS_TIMEOUT: ${env('DYPNS_TIMEOUT', '5s')}"},
		{"s.yaml", "limitKeyPrefix: '{smsverify}:'", "limitKeyPrefix: '{sms}:'"},
		{"template.yaml", "  LogRetentionDays:\n    Type: Number\n    Default: 30", "  LogRetentionDays:\n    Type: Number\n    Default: 14"},
		{"template.yaml", "  SqsQueueArn:\n", "  SqsQueue:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+firstLine(tt.new), func(t *testing.T) {
			edit := func(name, text string) string {
				if name != tt.file {
					return text
				}
				if n := strings.Count(text, tt.old); n != 1 {
					t.Fatalf("%s holds %q %d times, want once: update this test", name, tt.old, n)
				}
				return strings.Replace(text, tt.old, tt.new, 1)
			}
			p := checkDocs(loadFiles(t, edit), edit("docs/deploying.md", doc))
			if len(p) == 0 {
				t.Fatalf("checkDocs passed after %s: %q -> %q", tt.file, tt.old, tt.new)
			}
			t.Logf("caught: %s", p[0])
		})
	}
}
