package web

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"smsverify/internal/apitest"
)

// declaredCodes returns the codes smsverify.d.ts declares, from the string
// literals of its *ErrorCode types; a template literal `Prefix${string}` is
// returned as its prefix.
func declaredCodes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("smsverify.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	typ := regexp.MustCompile(`(?s)export type (?:Local|Alibaba|Client)ErrorCode =(.*?);`)
	lit := regexp.MustCompile("\"([A-Za-z0-9_.]+)\"|`([A-Za-z]+)\\$\\{string\\}`")
	for _, m := range typ.FindAllStringSubmatch(string(src), -1) {
		for _, l := range lit.FindAllStringSubmatch(m[1], -1) {
			out = append(out, l[1]+l[2])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestDeclaredCodesMatchDocument: ErrorCode in smsverify.d.ts is exactly
// the codes and code families of the OpenAPI document, and the client's
// own two.
func TestDeclaredCodesMatchDocument(t *testing.T) {
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"NETWORK_ERROR", "BAD_ANSWER"}
	for _, codes := range doc.Codes() {
		want = append(want, codes...)
	}
	want = append(want, doc.CodeFamilies()...)
	slices.Sort(want)
	want = slices.Compact(want)
	got := declaredCodes(t)
	if len(got) < 40 {
		t.Fatalf("parsed only %d codes from smsverify.d.ts: %v", len(got), got)
	}
	for _, c := range want {
		if !slices.Contains(got, c) {
			t.Errorf("smsverify.d.ts: ErrorCode lacks %s, which the document names", c)
		}
	}
	for _, c := range got {
		if !slices.Contains(want, c) {
			t.Errorf("smsverify.d.ts: ErrorCode has %s, which the document does not name", c)
		}
	}
}

// tsc returns the TypeScript compiler, or skips (fails when
// SMSVERIFY_REQUIRE_TSC is set, as CI sets it).
func tsc(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tsc")
	if err != nil {
		if os.Getenv("SMSVERIFY_REQUIRE_TSC") != "" {
			t.Fatal("SMSVERIFY_REQUIRE_TSC is set but tsc is not on PATH (npm install -g typescript)")
		}
		t.Skip("tsc not on PATH: install typescript from npm to type-check smsverify.d.ts")
	}
	return p
}

// typecheck runs tsc --strict --noEmit on one file of testdata.
func typecheck(t *testing.T, file string) (string, error) {
	t.Helper()
	cmd := exec.Command(tsc(t), "--strict", "--noEmit", "--target", "es2022", "--module", "nodenext",
		"--lib", "es2022,dom", "testdata/"+file)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTypeScriptSample type-checks a strict TypeScript page against
// smsverify.d.ts, and a page comparing a misspelt code, which must fail:
// the code type is a union, not string.
func TestTypeScriptSample(t *testing.T) {
	if out, err := typecheck(t, "sample.ts"); err != nil {
		t.Fatalf("tsc --strict rejects testdata/sample.ts: %v\n%s", err, out)
	}
	out, err := typecheck(t, "typo.ts")
	if err == nil {
		t.Fatal("tsc accepts a comparison with a misspelt code: SmsVerifyError.code is not a union")
	}
	if !strings.Contains(out, "SEND_LIMT_PHONE") {
		t.Errorf("tsc failed on testdata/typo.ts, but not for the misspelt code:\n%s", out)
	}
}
