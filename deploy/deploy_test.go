package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"smsverify/api"
	"smsverify/function"
)

// root is the module root: s.yaml, template.yaml and the Makefile live there.
const root = ".."

// TestDeployFiles runs every check against the files as they are.
func TestDeployFiles(t *testing.T) {
	f := loadFiles(t, nil)
	for _, c := range checks() {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.run(f) {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatchBreakage breaks the files in memory, one edit at a time, and
// requires the named check to report it: no check passes vacuously.
func TestChecksCatchBreakage(t *testing.T) {
	byName := map[string]check{}
	for _, c := range checks() {
		byName[c.name] = c
	}
	tests := []struct {
		check, file, old, new string
	}{
		{checkEnvS, "s.yaml", "LIMIT_STORE: ${env('LIMIT_STORE', 'memory')}", "LIMIT_STORES: ${env('LIMIT_STORES', 'memory')}"},
		{checkEnvS, "s.yaml", "LIMIT_STORE: ${env('LIMIT_STORE',", "LIMIT_STORE: ${env('STORE',"},
		{checkEnvT, "template.yaml", "SMS_SIGN_NAME: !Ref SmsSignName", "SMS_SIGNATURE: !Ref SmsSignName"},
		{checkFC, "s.yaml", "handler: main", "handler: bootstrap"},
		{checkFC, "s.yaml", "code: ./dist/aliyunfc", "code: ./dist/fc"},
		{checkFC, "s.yaml", "runtime: go1", "runtime: custom.debian10"},
		{checkFC, "s.yaml", "run: make build", "run: make test"},
		{checkFC, "Makefile", "FC_BIN := dist/aliyunfc/main", "FC_BIN := dist/aliyunfc/handler"},
		{checkFC, "Makefile", "GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags", "GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags"},
		{checkLambda, "template.yaml", "Handler: bootstrap", "Handler: main"},
		{checkLambda, "template.yaml", "Runtime: provided.al2023", "Runtime: provided.al2"},
		{checkLambda, "template.yaml", "BuildMethod: makefile", "BuildMethod: go1.x"},
		{checkLambda, "template.yaml", "CodeUri: .", "CodeUri: adapters/lambda/"},
		{checkLambda, "template.yaml", "    Default: x86_64\n", "    Default: arm64\n"},
		{checkLambda, "template.yaml", "AllowedValues: [x86_64, arm64]", "AllowedValues: [x86_64]"},
		{checkLambda, "template.yaml", "        - !Ref Architecture ", "        - arm64 "},
		{checkLambda, "Makefile", "$(filter $(ARCH),amd64 arm64)", "$(filter $(ARCH),amd64)"},
		{checkLambda, "Makefile", "GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build -trimpath -tags", "GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -tags"},
		{checkLambda, "Makefile", "build-SmsVerifyFunction: lambda", "build-Function: lambda"},
		{checkLambda, "Makefile", "-tags lambda.norpc ", ""},
		{checkLambda, "Makefile", "LAMBDA_BIN := dist/lambda/bootstrap", "LAMBDA_BIN := dist/lambda/main"},
		{checkLambda, "Makefile", `"$(ARTIFACTS_DIR)/bootstrap"`, `"$(ARTIFACTS_DIR)/main"`},
		{checkMake, "Makefile", "build: lambda aliyunfc zip", "build: aliyunfc"},
		{checkMake, "Makefile", " -trimpath -tags lambda.norpc", " -tags lambda.norpc"},
		{checkSecrets, "s.yaml", "API_KEYS: ${env('API_KEYS', '')}", "API_KEYS: k1234567890abcdefgh"},
		{checkSecrets, "s.yaml", "${env('REDIS_URL', '')}", "${env('REDIS_URL', 'redis://:pw@10.0.0.1:6379/0')}"},
		{checkSecrets, "template.yaml", "VERIFY_TOKEN_SECRET: !Ref VerifyTokenSecret", "VERIFY_TOKEN_SECRET: not-a-parameter-0123456789abcdef"},
		{checkSecrets, "template.yaml", "  RedisUrl:\n    Type: String\n    NoEcho: true\n", "  RedisUrl:\n    Type: String\n"},
		{checkSecrets, "template.yaml", "  ApiKeys:\n    Type: String\n    NoEcho: true\n    Default: ''", "  ApiKeys:\n    Type: String\n    NoEcho: true\n    Default: 'k1234567890abcdefgh'"},
		{checkSecrets, "s.yaml", "${env('CAPTCHA_SECRET', '')}", "0x4AAAAAAAfakeTurnstileSecret"},
		{checkSecrets, "template.yaml", "  CaptchaSecret:\n    Type: String\n    NoEcho: true\n", "  CaptchaSecret:\n    Type: String\n"},
		{checkSecrets, "s.yaml", "${env('SMS_TEST_NUMBERS', '')}", "${env('SMS_TEST_NUMBERS', '13800000000:123456')}"},
		{checkSecrets, "template.yaml", "  SmsTestNumbers:\n    Type: String\n    NoEcho: true\n", "  SmsTestNumbers:\n    Type: String\n"},
		{checkEmpty, "s.yaml", "${env('IDEMPOTENCY_TTL', '24h')}", "${env('IDEMPOTENCY_TTL', '')}"},
		{checkEmpty, "s.yaml", "${env('SMS_SIGN_NAME', '速通互联验证码')}", "${env('SMS_SIGN_NAME', '')}"},
		{checkEmpty, "s.yaml", "${env('CAPTCHA_TIMEOUT', '3s')}", "${env('CAPTCHA_TIMEOUT', '')}"},
		{checkEmpty, "template.yaml", "  CaptchaActions:\n    Type: String\n    Default: send", "  CaptchaActions:\n    Type: String\n    Default: ''"},
		{checkEmpty, "s.yaml", "${env('LIMIT_STORE', 'memory')}", "${env('LIMIT_STORE')}"},
		{checkEmpty, "s.yaml", "${env('LIMIT_MEMORY_MAX_KEYS', '200000')}", "${env('LIMIT_MEMORY_MAX_KEYS')}"},
		{checkEmpty, "s.yaml", "${env('LIMIT_KEY_PREFIX', vars.limitKeyPrefix)}", "${env('LIMIT_KEY_PREFIX', '')}"},
		{checkEmpty, "s.yaml", "limitKeyPrefix: '{smsverify}:'", "limitKeyPrefix: ''"},
		{checkEnvS, "s.yaml", "vars.limitKeyPrefix)", "vars.keyPrefix)"},
		{checkSExpr, "s.yaml", "${env('LIMIT_KEY_PREFIX', vars.limitKeyPrefix)}", "${env('LIMIT_KEY_PREFIX', '{smsverify}:')}"},
		{checkSExpr, "s.yaml", "${env('FC_REGION', 'cn-hangzhou')}", "${env('FC_REGION', 'cn-hangzhou'}"},
		{checkSecrets, "s.yaml", "${env('LIMIT_KEY_SECRET', '')}", "${env('LIMIT_KEY_SECRET', 'a-literal-limit-key-secret-0123456789')}"},
		{checkSecrets, "template.yaml", "  LimitKeySecret:\n    Type: String\n    NoEcho: true\n", "  LimitKeySecret:\n    Type: String\n"},
		{checkSecrets, "s.yaml", "${env('REPORT_TOKEN', '')}", "${env('REPORT_TOKEN', 'a-literal-report-token-0123456789abcdef')}"},
		{checkSecrets, "template.yaml", "  ReportToken:\n    Type: String\n    NoEcho: true\n", "  ReportToken:\n    Type: String\n"},
		{checkEnvT, "template.yaml", "LIMIT_MEMORY_MAX_KEYS: !Ref LimitMemoryMaxKeys", "LIMIT_MEMORY_KEYS: !Ref LimitMemoryMaxKeys"},
		{checkEmpty, "template.yaml", "  LimitStore:\n    Type: String\n    Default: memory", "  LimitStore:\n    Type: String\n    Default: ''"},
		{checkSQS, "template.yaml", "        - ReportBatchItemFailures", "        - SomethingElse"},
		{checkSQS, "template.yaml", "    Condition: HasSqsQueue\n", ""},
		{checkRoutes, "template.yaml", "Path: /healthz", "Path: /health"},
		{checkRoutes, "template.yaml", "        Default:\n          Type: HttpApi\n", ""},
		{checkRoutes, "s.yaml", "              - OPTIONS\n", ""},
		{checkRoutes, "s.yaml", "              - HEAD\n", ""},
		{checkRoutes, "s.yaml", "              - OPTIONS\n", "              - OPTIONS\n              - PUT\n"},
		{checkRoutes, "s.yaml", "authType: anonymous", "authType: function"},
		{checkEvery, "template.yaml", "          SMS_TEST_NUMBERS: !Ref SmsTestNumbers\n", ""},
		{checkEvery, "template.yaml", "          REDIS_MODE: !Ref RedisMode\n", ""},
		{checkEvery, "s.yaml", "        REDIS_CA_FILE: ${env('REDIS_CA_FILE', '')}", "        # REDIS_CA_FILE unset"},
		{checkEvery, "s.yaml", "        IDEMPOTENCY_TTL: ${env('IDEMPOTENCY_TTL', '24h')}\n", ""},
		{checkEvery, "s.yaml", "        LIMIT_STORE:", "        ALIBABA_CLOUD_ACCESS_KEY_ID: ${env('ALIBABA_CLOUD_ACCESS_KEY_ID', '')}\n        LIMIT_STORE:"},
		{checkEvery, "template.yaml", "          IDEMPOTENCY_TTL:", "          SMS_INTERVAL: '60'\n          IDEMPOTENCY_TTL:"},
		{checkAlarms, "template.yaml", "      MetricName: ReceiptsFailed", "      MetricName: DeliveryFailures"},
		{checkAlarms, "template.yaml", "        - Name: code\n          Value: OK", "        - Name: Code\n          Value: OK"},
		{checkAlarms, "template.yaml", "    Condition: HasAlarms\n    Properties:\n      AlarmDescription: smsverify - Dypnsapi", "    Properties:\n      AlarmDescription: smsverify - Dypnsapi"},
		{checkAlarms, "template.yaml", "      Namespace: !Ref MetricsNamespace\n      MetricName: Sends", "      Namespace: smsverify\n      MetricName: Sends"},
		{checkAlarms, "template.yaml", "              MetricName: Checks\n              Dimensions:\n                - Name: verify_result\n                  Value: UNKNOWN", "              MetricName: Checks\n              Dimensions:\n                - Name: result\n                  Value: UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.check+"/"+tt.file+"/"+firstLine(tt.new), func(t *testing.T) {
			c, ok := byName[tt.check]
			if !ok {
				t.Fatalf("no check named %q", tt.check)
			}
			f := loadFiles(t, func(name, text string) string {
				if name != tt.file {
					return text
				}
				if n := strings.Count(text, tt.old); n != 1 {
					t.Fatalf("%s holds %q %d times, want once: update this test", name, tt.old, n)
				}
				return strings.Replace(text, tt.old, tt.new, 1)
			})
			p := c.run(f)
			if len(p) == 0 {
				t.Fatalf("check %q passed after %s: %q -> %q", tt.check, tt.file, tt.old, tt.new)
			}
			t.Logf("caught: %s", p[0])
		})
	}
}

// firstLine names a subtest after an edit.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if s == "" {
		return "removed"
	}
	return s
}

// Check names, shared by both tests.
const (
	checkEnvS    = "s.yaml environment variables are Config variables"
	checkEnvT    = "template.yaml environment variables are Config variables"
	checkFC      = "s.yaml handler and code are the Makefile's aliyunfc build"
	checkLambda  = "template.yaml handler, runtime and build are the Makefile's lambda build"
	checkMake    = "make build builds both artifacts"
	checkSecrets = "secrets come from NoEcho parameters or deploy-time env"
	checkEmpty   = "no empty value overrides a Config default"
	checkSQS     = "SQS source is optional and reports batch item failures"
	checkRoutes  = "HTTP entry points reach every route"
	checkEvery   = "every Config variable is deployed or listed as left to its default"
	checkSExpr   = "s.yaml expressions end where Serverless Devs ends them"
	checkAlarms  = "alarms are optional and watch metrics the function emits"
)

// check is one named rule over the parsed files; it returns the problems.
type check struct {
	name string
	run  func(f deployFiles) []string
}

func checks() []check {
	return []check{
		{checkEnvS, checkEnvVarsS},
		{checkEnvT, checkEnvVarsT},
		{checkFC, checkFCBuild},
		{checkLambda, checkLambdaBuild},
		{checkMake, checkMakeBuild},
		{checkSecrets, checkSecretValues},
		{checkEmpty, checkEmptyOverrides},
		{checkSQS, checkSQSSource},
		{checkRoutes, checkHTTPRoutes},
		{checkEvery, checkEveryVarDeployed},
		{checkSExpr, checkSExpressions},
		{checkAlarms, checkAlarmMetrics},
	}
}

// deployFiles holds the three files, parsed.
type deployFiles struct {
	s    map[string]any // s.yaml
	tpl  map[string]any // template.yaml; short-form tags (!Ref) in long form ({"Ref": …})
	make *makefile
	cfg  map[string]configVar // function.Config's variables
	// apiMethods are the HTTP methods of api/openapi.json's operations,
	// upper case, sorted.
	apiMethods []string
}

// loadFiles reads and parses the deploy files; edit (if not nil) may change
// a file's text first.
func loadFiles(t *testing.T, edit func(name, text string) string) deployFiles {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			return edit(name, string(b))
		}
		return string(b)
	}
	f := deployFiles{cfg: configVars(t), make: parseMakefile(read("Makefile")), apiMethods: openAPIMethods(t)}
	var err error
	if f.s, err = decodeYAML(read("s.yaml")); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	if f.tpl, err = decodeYAML(read("template.yaml")); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return f
}

// openAPIMethods returns the methods of the OpenAPI document's operations.
func openAPIMethods(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("api/openapi.json: %v", err)
	}
	var out []string
	for _, item := range doc.Paths {
		for k := range item {
			// The fixed fields of a Path Item Object that name operations.
			switch k {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				if m := strings.ToUpper(k); !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("api/openapi.json has no operations")
	}
	slices.Sort(out)
	return out
}

// configVar is one variable function.Config reads.
type configVar struct {
	def string // the default tag's value; "" when none
}

// configVars reads the envconfig tags of function.Config by reflection.
func configVars(t *testing.T) map[string]configVar {
	t.Helper()
	vars := map[string]configVar{}
	typ := reflect.TypeFor[function.Config]()
	for i := range typ.NumField() {
		fld := typ.Field(i)
		name, ok := fld.Tag.Lookup("envconfig")
		if !ok || fld.Tag.Get("ignored") == "true" {
			continue
		}
		vars[name] = configVar{def: fld.Tag.Get("default")}
	}
	if len(vars) == 0 {
		t.Fatal("function.Config has no envconfig tags")
	}
	return vars
}

// ---- checks ----

func checkEnvVarsS(f deployFiles) []string {
	var p []string
	n := 0
	for _, r := range fcResources(f) {
		for name, v := range mapOf(r.props["environmentVariables"]) {
			n++
			if _, ok := f.cfg[name]; !ok {
				p = append(p, fmt.Sprintf("s.yaml %s sets %s, which function.Config does not read", r.name, name))
			}
			ref, ok := f.envRef(v)
			if ok && ref.name != name {
				p = append(p, fmt.Sprintf("s.yaml %s sets %s from ${env('%s')}: use the same name", r.name, name, ref.name))
			}
			if ok && ref.varKey != "" && !ref.varFound {
				p = append(p, fmt.Sprintf("s.yaml %s: the default of %s is vars.%s, which vars lacks", r.name, name, ref.varKey))
			}
		}
	}
	if n == 0 {
		p = append(p, "s.yaml sets no environmentVariables")
	}
	return p
}

func checkEnvVarsT(f deployFiles) []string {
	var p []string
	n := 0
	for _, fn := range samFunctions(f) {
		for name := range mapOf(dig(fn.props, "Environment", "Variables")) {
			n++
			if _, ok := f.cfg[name]; !ok {
				p = append(p, fmt.Sprintf("template.yaml %s sets %s, which function.Config does not read", fn.id, name))
			}
		}
	}
	for name := range mapOf(dig(f.tpl, "Globals", "Function", "Environment", "Variables")) {
		n++
		if _, ok := f.cfg[name]; !ok {
			p = append(p, fmt.Sprintf("template.yaml Globals set %s, which function.Config does not read", name))
		}
	}
	if n == 0 {
		p = append(p, "template.yaml sets no Environment Variables")
	}
	return p
}

// notDeployed are the Config variables neither deploy file sets, and why.
// A new variable goes into both files or here, so none is forgotten.
var notDeployed = map[string]string{
	"ALIBABA_CLOUD_SECURITY_TOKEN": "STS tokens expire: FC passes its role's per invocation, Lambda uses a RAM user's AccessKey",
	"DYPNS_ENDPOINT":               "Alibaba's public endpoint is the default; another is for tests and the emulator",
	"DYPNS_TIMEOUT":                "tuning, documented in docs/configuration.md",
	"SMS_SCHEME_NAMES":             "SMS_SCHEME_NAME suffices unless public callers pick among several schemes",
	"SMS_CODE_LENGTH":              "tuning of the SMS, Alibaba's default",
	"SMS_CODE_TYPE":                "tuning of the SMS, Alibaba's default",
	"SMS_VALID_TIME":               "tuning of the SMS, Alibaba's default",
	"SMS_INTERVAL":                 "tuning of the SMS, Alibaba's default",
	"SMS_DUPLICATE_POLICY":         "tuning of the SMS, Alibaba's default",
	"SMS_AUTO_RETRY":               "tuning of the SMS, Alibaba's default",
	"PORT":                         "the local adapter's only",
	"HOST":                         "the local adapter's only",
	"SERVE_DEMO":                   "the local adapter's only",
	"SMS_LIMIT_PER_PHONE":          "tuning of the limits, documented in docs/configuration.md",
	"SMS_LIMIT_PER_IP":             "tuning of the limits, documented in docs/configuration.md",
	"SMS_LIMIT_GLOBAL":             "tuning of the limits, documented in docs/configuration.md",
	"CHECK_LIMIT_PER_PHONE":        "tuning of the limits, documented in docs/configuration.md",
	"CHECK_LIMIT_PER_IP":           "tuning of the limits, documented in docs/configuration.md",
	"TRUSTED_PROXIES":              "on Lambda and FC the client address comes from the event, not X-Forwarded-For",
	"VERIFY_TOKEN_TTL":             "tuning, documented in docs/configuration.md",
	"EMULATOR_REPORT_DELAY":        "the local emulator's only",
	"EMULATOR_FAIL_NUMBERS":        "the local emulator's only",
}

// lambdaOnly are the Config variables only template.yaml sets, and why.
var lambdaOnly = map[string]string{
	"ALIBABA_CLOUD_ACCESS_KEY_ID":     "FC signs with its role's STS credentials",
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "FC signs with its role's STS credentials",
	"METRICS":                         "EMF is CloudWatch's; on FC, SLS queries the access log's own fields (docs/deploying.md)",
	"METRICS_NAMESPACE":               "EMF is CloudWatch's; on FC, SLS queries the access log's own fields (docs/deploying.md)",
}

// checkEveryVarDeployed is the other direction of checkEnvVarsS and
// checkEnvVarsT: each Config variable is set by both deploy files, by
// template.yaml alone when listed in lambdaOnly, or by neither when listed
// in notDeployed; and the lists name only Config's variables.
func checkEveryVarDeployed(f deployFiles) []string {
	inS, inT := map[string]bool{}, map[string]bool{}
	for _, r := range fcResources(f) {
		for name := range mapOf(r.props["environmentVariables"]) {
			inS[name] = true
		}
	}
	for _, fn := range samFunctions(f) {
		for name := range mapOf(dig(fn.props, "Environment", "Variables")) {
			inT[name] = true
		}
	}
	for name := range mapOf(dig(f.tpl, "Globals", "Function", "Environment", "Variables")) {
		inT[name] = true
	}
	var p []string
	for name := range f.cfg {
		_, neither := notDeployed[name]
		_, lambda := lambdaOnly[name]
		switch {
		case neither && (inS[name] || inT[name]):
			p = append(p, name+" is listed in notDeployed, but a deploy file sets it: drop it from the list")
		case lambda && (inS[name] || !inT[name]):
			p = append(p, name+" is listed in lambdaOnly: template.yaml, and not s.yaml, must set it")
		case !neither && !lambda && (!inS[name] || !inT[name]):
			p = append(p, fmt.Sprintf("%s is set by s.yaml: %v, template.yaml: %v; set it in both or list it in notDeployed", name, inS[name], inT[name]))
		}
	}
	for _, list := range []map[string]string{notDeployed, lambdaOnly} {
		for name := range list {
			if _, ok := f.cfg[name]; !ok {
				p = append(p, name+" is listed, but function.Config does not read it")
			}
		}
	}
	slices.Sort(p)
	return p
}

func checkFCBuild(f deployFiles) []string {
	var p []string
	fc, err := f.make.buildOf("adapters/aliyunfc")
	if err != nil {
		return []string{err.Error()}
	}
	p = append(p, requireEnv(fc, map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"})...)
	rs := fcResources(f)
	if len(rs) == 0 {
		return append(p, "s.yaml has no fc3 resource")
	}
	for _, r := range rs {
		if got := str(r.props["runtime"]); got != "go1" {
			p = append(p, fmt.Sprintf("s.yaml %s runtime is %q, want go1", r.name, got))
		}
		if got, want := str(r.props["handler"]), path.Base(fc.out); got != want {
			p = append(p, fmt.Sprintf("s.yaml %s handler is %q, but the Makefile builds %s", r.name, got, fc.out))
		}
		if got, want := path.Clean(str(r.props["code"])), path.Dir(fc.out); got != want {
			p = append(p, fmt.Sprintf("s.yaml %s code is %q, but the Makefile builds into %s", r.name, got, want))
		}
		built := false
		for _, a := range seqOf(dig(r.res, "actions", "pre-deploy")) {
			run := str(dig(a, "run"))
			args := strings.Fields(run)
			if len(args) == 0 || args[0] != "make" {
				continue
			}
			if dir := str(dig(a, "path")); dir != "" && path.Clean(dir) != "." {
				p = append(p, fmt.Sprintf("s.yaml %s pre-deploy runs %q in %s, not beside the Makefile", r.name, run, dir))
			}
			var targets []string
			for _, a := range args[1:] {
				if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
					targets = append(targets, a)
				}
			}
			if len(targets) == 0 {
				targets = []string{f.make.defaultGoal()}
			}
			for _, tg := range targets {
				if slices.ContainsFunc(f.make.buildsFrom(tg), func(b goBuild) bool { return b.out == fc.out }) {
					built = true
				}
			}
		}
		if !built {
			p = append(p, fmt.Sprintf("s.yaml %s has no pre-deploy `make` action that builds %s", r.name, fc.out))
		}
	}
	return p
}

func checkLambdaBuild(f deployFiles) []string {
	var p []string
	lb, err := f.make.buildOf("adapters/lambda")
	if err != nil {
		return []string{err.Error()}
	}
	p = append(p, requireEnv(lb, map[string]string{"GOOS": "linux", "CGO_ENABLED": "0"})...)
	if path.Base(lb.out) != "bootstrap" {
		p = append(p, fmt.Sprintf("Makefile builds the Lambda binary as %s; provided.al2023 runs a file named bootstrap", lb.out))
	}
	if !slices.Contains(strings.Split(lb.tags, ","), "lambda.norpc") {
		p = append(p, fmt.Sprintf("Makefile builds %s without -tags lambda.norpc", lb.out))
	}
	fns := samFunctions(f)
	if len(fns) == 0 {
		return append(p, "template.yaml has no AWS::Serverless::Function")
	}
	for _, fn := range fns {
		if got := str(fn.props["Handler"]); got != "bootstrap" {
			p = append(p, fmt.Sprintf("template.yaml %s Handler is %q, want bootstrap", fn.id, got))
		}
		if got := str(fn.props["Runtime"]); got != "provided.al2023" {
			p = append(p, fmt.Sprintf("template.yaml %s Runtime is %q, want provided.al2023", fn.id, got))
		}
		if got := str(dig(fn.res, "Metadata", "BuildMethod")); got != "makefile" {
			p = append(p, fmt.Sprintf("template.yaml %s BuildMethod is %q, want makefile", fn.id, got))
		}
		if got := path.Clean(str(fn.props["CodeUri"])); got != "." {
			p = append(p, fmt.Sprintf("template.yaml %s CodeUri is %q, want . (the directory holding the Makefile)", fn.id, got))
		}
		p = append(p, checkArchitectures(f, fn, lb)...)
		target := "build-" + fn.id
		if _, ok := f.make.rules[target]; !ok {
			p = append(p, fmt.Sprintf("Makefile has no target %s for sam build", target))
			continue
		}
		if !slices.ContainsFunc(f.make.buildsFrom(target), func(b goBuild) bool { return b.out == lb.out }) {
			p = append(p, fmt.Sprintf("Makefile %s does not build %s", target, lb.out))
		}
		copied := slices.ContainsFunc(f.make.recipe(target), func(line string) bool {
			fs := shellFields(line)
			return len(fs) == 3 && fs[0] == "cp" && fs[1] == lb.out && fs[2] == "$(ARTIFACTS_DIR)/bootstrap"
		})
		if !copied {
			p = append(p, fmt.Sprintf("Makefile %s does not `cp %s $(ARTIFACTS_DIR)/bootstrap`", target, lb.out))
		}
	}
	return p
}

// goarchOf maps Lambda's Architectures values to GOARCH.
var goarchOf = map[string]string{"x86_64": "amd64", "arm64": "arm64"}

// lambdaArchitectures returns the architectures a SAM function may deploy
// with, the first being its default: a literal Architectures entry, or the
// AllowedValues of the parameter it names, the Default first.
func lambdaArchitectures(f deployFiles, fn samFunction) ([]string, error) {
	archs := seqOf(fn.props["Architectures"])
	if len(archs) == 0 {
		return []string{"x86_64"}, nil // Lambda's default
	}
	if len(archs) != 1 {
		return nil, fmt.Errorf("template.yaml %s Architectures has %d entries, want 1", fn.id, len(archs))
	}
	if a := str(archs[0]); a != "" {
		return []string{a}, nil
	}
	ref := str(dig(archs[0], "Ref"))
	param := mapOf(mapOf(f.tpl["Parameters"])[ref])
	if param == nil {
		return nil, fmt.Errorf("template.yaml %s Architectures is neither a literal nor a !Ref to a parameter", fn.id)
	}
	def := str(param["Default"])
	out := []string{def}
	for _, v := range seqOf(param["AllowedValues"]) {
		if a := str(v); a != def {
			out = append(out, a)
		}
	}
	return out, nil
}

// makeArchs returns the values the Makefile accepts for ARCH: the list of
// its $(filter $(ARCH),…) guard.
var makeArchRe = regexp.MustCompile(`\$\(filter \$\(ARCH\),([^)]*)\)`)

func checkArchitectures(f deployFiles, fn samFunction, lb goBuild) []string {
	archs, err := lambdaArchitectures(f, fn)
	if err != nil {
		return []string{err.Error()}
	}
	var p []string
	if got, want := goarchOf[archs[0]], lb.env["GOARCH"]; got != want {
		p = append(p, fmt.Sprintf("template.yaml %s deploys %s by default, but the Makefile builds GOARCH=%s by default", fn.id, archs[0], want))
	}
	var accepted []string
	if m := makeArchRe.FindStringSubmatch(f.make.text); m != nil {
		accepted = strings.Fields(m[1])
	}
	for _, want := range []string{"x86_64", "arm64"} {
		if !slices.Contains(archs, want) {
			p = append(p, fmt.Sprintf("template.yaml %s cannot deploy %s: make the Architecture parameter allow it", fn.id, want))
		}
	}
	for _, a := range archs {
		if g := goarchOf[a]; g == "" || !slices.Contains(accepted, g) {
			p = append(p, fmt.Sprintf("template.yaml %s may deploy %s, which the Makefile's ARCH (%v) cannot build", fn.id, a, accepted))
		}
	}
	if !strings.Contains(lb.raw, "GOARCH=$(ARCH)") {
		p = append(p, fmt.Sprintf("Makefile builds %s without GOARCH=$(ARCH)", lb.out))
	}
	return p
}

func checkMakeBuild(f deployFiles) []string {
	var p []string
	if _, ok := f.make.rules["build"]; !ok {
		return []string{"Makefile has no build target"}
	}
	built := f.make.buildsFrom("build")
	for _, pkg := range []string{"adapters/lambda", "adapters/aliyunfc"} {
		b, err := f.make.buildOf(pkg)
		if err != nil {
			p = append(p, err.Error())
			continue
		}
		if !slices.ContainsFunc(built, func(x goBuild) bool { return x.out == b.out }) {
			p = append(p, fmt.Sprintf("make build does not build %s", b.out))
		}
		for _, flag := range []string{"-trimpath", "-ldflags=-s -w"} {
			if !slices.Contains(b.flags, flag) {
				p = append(p, fmt.Sprintf("Makefile builds %s without %s", b.out, flag))
			}
		}
	}
	return p
}

// isSecret reports whether a variable holds a secret.
func isSecret(name string) bool {
	return strings.Contains(name, "SECRET") || strings.Contains(name, "ACCESS_KEY") ||
		strings.Contains(name, "SECURITY_TOKEN") || strings.Contains(name, "PRIVATE_KEY") || name == "API_KEYS" || name == "REDIS_URL" ||
		name == "SMS_TEST_NUMBERS" || // its fixed codes pass checks
		name == "REPORT_TOKEN" // it admits delivery receipts
}

func checkSecretValues(f deployFiles) []string {
	var p []string
	var secrets []string
	for name := range f.cfg {
		if isSecret(name) {
			secrets = append(secrets, name)
		}
	}
	for _, want := range []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "API_KEYS", "REDIS_URL", "VERIFY_TOKEN_SECRET", "VERIFY_TOKEN_PRIVATE_KEY", "CAPTCHA_SECRET", "SMS_TEST_NUMBERS", "LIMIT_KEY_SECRET", "REPORT_TOKEN"} {
		if !slices.Contains(secrets, want) {
			p = append(p, fmt.Sprintf("isSecret misses %s (or function.Config dropped it)", want))
		}
	}
	for _, r := range fcResources(f) {
		for name, v := range mapOf(r.props["environmentVariables"]) {
			if !isSecret(name) {
				continue
			}
			if ref, ok := f.envRef(v); !ok || ref.def != "" {
				p = append(p, fmt.Sprintf("s.yaml %s: secret %s must be ${env('%s', '')}, not a literal or a default", r.name, name, name))
			}
		}
	}
	params := mapOf(f.tpl["Parameters"])
	for _, vars := range templateEnvs(f) {
		for name, v := range vars.vars {
			if !isSecret(name) {
				continue
			}
			ref := str(dig(v, "Ref"))
			param := mapOf(params[ref])
			switch {
			case ref == "" || param == nil:
				p = append(p, fmt.Sprintf("template.yaml %s: secret %s must be !Ref to a parameter, not a literal", vars.owner, name))
			case !isTrue(param["NoEcho"]):
				p = append(p, fmt.Sprintf("template.yaml parameter %s (%s) must be NoEcho: true", ref, name))
			case str(param["Default"]) != "":
				p = append(p, fmt.Sprintf("template.yaml parameter %s (%s) has a literal Default", ref, name))
			}
		}
	}
	return p
}

func checkEmptyOverrides(f deployFiles) []string {
	// envconfig uses a set-but-empty variable as is: "" replaces the default.
	var p []string
	for _, r := range fcResources(f) {
		for name, v := range mapOf(r.props["environmentVariables"]) {
			def := f.cfg[name].def
			if def == "" {
				continue
			}
			if ref, ok := f.envRef(v); ok && !ref.hasDef {
				p = append(p, fmt.Sprintf("s.yaml %s: %s needs a default, ${env('%s', '%s')}", r.name, name, name, def))
			} else if (ok && ref.def == "") || (!ok && str(v) == "") {
				p = append(p, fmt.Sprintf("s.yaml %s: %s may be empty, which replaces its default %q", r.name, name, def))
			}
		}
	}
	params := mapOf(f.tpl["Parameters"])
	for _, vars := range templateEnvs(f) {
		for name, v := range vars.vars {
			def := f.cfg[name].def
			if def == "" {
				continue
			}
			empty := v == nil || v == ""
			if ref := str(dig(v, "Ref")); ref != "" {
				d, has := mapOf(params[ref])["Default"]
				empty = has && (d == nil || d == "")
			}
			if empty {
				p = append(p, fmt.Sprintf("template.yaml %s: %s may be empty, which replaces its default %q", vars.owner, name, def))
			}
		}
	}
	return p
}

func checkSQSSource(f deployFiles) []string {
	var p []string
	n := 0
	report := func(where string, props any) {
		n++
		if !slices.Contains(seqOf(dig(props, "FunctionResponseTypes")), any("ReportBatchItemFailures")) {
			p = append(p, where+": FunctionResponseTypes lacks ReportBatchItemFailures")
		}
	}
	for _, fn := range samFunctions(f) {
		for id, ev := range mapOf(fn.props["Events"]) {
			if str(dig(ev, "Type")) == "SQS" {
				report("template.yaml "+fn.id+" event "+id, dig(ev, "Properties"))
			}
		}
	}
	conds := mapOf(f.tpl["Conditions"])
	for id, res := range mapOf(f.tpl["Resources"]) {
		if str(dig(res, "Type")) != "AWS::Lambda::EventSourceMapping" {
			continue
		}
		report("template.yaml "+id, dig(res, "Properties"))
		if c := str(dig(res, "Condition")); c == "" || conds[c] == nil {
			p = append(p, fmt.Sprintf("template.yaml %s: needs a Condition from Conditions so SQS stays optional", id))
		}
	}
	if n == 0 {
		p = append(p, "template.yaml has no SQS event source")
	}
	return p
}

func checkHTTPRoutes(f deployFiles) []string {
	var p []string
	routes := map[string]bool{}
	for _, fn := range samFunctions(f) {
		for _, ev := range mapOf(fn.props["Events"]) {
			if str(dig(ev, "Type")) != "HttpApi" {
				continue
			}
			method, route := strings.ToUpper(str(dig(ev, "Properties", "Method"))), str(dig(ev, "Properties", "Path"))
			if route == "" && method == "" {
				route, method = "$default", "ANY"
			}
			routes[method+" "+route] = true
		}
	}
	for _, want := range []string{"POST /send", "POST /check", "GET /healthz"} {
		if !routes[want] {
			p = append(p, "template.yaml has no HttpApi route "+want)
		}
	}
	if !routes["ANY $default"] && !routes["OPTIONS /{proxy+}"] {
		p = append(p, "template.yaml has neither the $default route nor OPTIONS /{proxy+}: preflights never reach the function")
	}
	n := 0
	for _, r := range fcResources(f) {
		for _, tr := range seqOf(r.props["triggers"]) {
			if str(dig(tr, "triggerType")) != "http" {
				continue
			}
			n++
			if got := str(dig(tr, "triggerConfig", "authType")); got != "anonymous" {
				p = append(p, fmt.Sprintf("s.yaml %s http trigger authType is %q, want anonymous", r.name, got))
			}
			methods := seqOf(dig(tr, "triggerConfig", "methods"))
			for _, m := range f.apiMethods {
				if !slices.Contains(methods, any(m)) {
					p = append(p, fmt.Sprintf("s.yaml %s http trigger lacks method %s, which api/openapi.json lists", r.name, m))
				}
			}
			for _, m := range methods {
				if !slices.Contains(f.apiMethods, str(m)) {
					p = append(p, fmt.Sprintf("s.yaml %s http trigger allows method %v, which no route of api/openapi.json has", r.name, m))
				}
			}
		}
	}
	if n == 0 {
		p = append(p, "s.yaml has no http trigger")
	}
	return p
}

// emfCall is a metric the function declares in its EMF lines:
// add(name, unit, value, dimension) in function/metrics.go.
var emfCall = regexp.MustCompile(`add\("(\w+)", "\w+", [^,]+, "(\w*)"\)`)

// emfMetrics reads function/metrics.go for the EMF metrics and the
// dimension each may carry ("" for none: every metric is also published
// without dimensions).
func emfMetrics() (map[string][]string, error) {
	src, err := os.ReadFile(filepath.Join(root, "function", "metrics.go"))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, m := range emfCall.FindAllStringSubmatch(string(src), -1) {
		out[m[1]] = append(out[m[1]], "")
		if m[2] != "" {
			out[m[1]] = append(out[m[1]], m[2])
		}
	}
	if len(out) < 5 {
		return nil, fmt.Errorf("function/metrics.go: found only %d EMF metrics: update emfCall", len(out))
	}
	return out, nil
}

// checkAlarmMetrics: every CloudWatch alarm exists only with HasAlarms,
// notifies AlarmTopicArn, and watches a metric the function emits, in
// METRICS_NAMESPACE, with a dimension it sets; and the four alarms the
// docs promise are there.
func checkAlarmMetrics(f deployFiles) []string {
	emitted, err := emfMetrics()
	if err != nil {
		return []string{err.Error()}
	}
	var p []string
	watched := map[string]bool{}
	checkMetric := func(id string, m any) {
		name := str(dig(m, "MetricName"))
		watched[name] = true
		dims, ok := emitted[name]
		if !ok {
			p = append(p, fmt.Sprintf("template.yaml %s: metric %q is not one the function emits (%v)", id, name, emitted))
		}
		if ns := str(dig(m, "Namespace", "Ref")); ns != "MetricsNamespace" {
			p = append(p, fmt.Sprintf("template.yaml %s: Namespace must be !Ref MetricsNamespace", id))
		}
		ds := seqOf(dig(m, "Dimensions"))
		if len(ds) > 1 {
			p = append(p, fmt.Sprintf("template.yaml %s: the function publishes at most one dimension per metric", id))
		}
		for _, d := range ds {
			if !slices.Contains(dims, str(dig(d, "Name"))) {
				p = append(p, fmt.Sprintf("template.yaml %s: %s has no dimension %q (it has %q)", id, name, str(dig(d, "Name")), dims))
			}
		}
	}
	for id, res := range mapOf(f.tpl["Resources"]) {
		if str(dig(res, "Type")) != "AWS::CloudWatch::Alarm" {
			continue
		}
		if str(dig(res, "Condition")) != "HasAlarms" {
			p = append(p, fmt.Sprintf("template.yaml %s: needs Condition: HasAlarms so alarms stay optional", id))
		}
		props := dig(res, "Properties")
		if !slices.ContainsFunc(seqOf(dig(props, "AlarmActions")), func(a any) bool { return str(dig(a, "Ref")) == "AlarmTopicArn" }) {
			p = append(p, fmt.Sprintf("template.yaml %s: AlarmActions must notify !Ref AlarmTopicArn", id))
		}
		if mapOf(props)["MetricName"] != nil {
			checkMetric(id, props)
		}
		for _, q := range seqOf(dig(props, "Metrics")) {
			if m := dig(q, "MetricStat", "Metric"); m != nil {
				checkMetric(id, m)
			}
		}
	}
	for _, want := range []string{"Sends", "Checks", "UpstreamErrors", "ReceiptsFailed"} {
		if !watched[want] {
			p = append(p, "template.yaml has no alarm on "+want)
		}
	}
	return p
}

// ---- s.yaml and template.yaml accessors ----

// fcResource is one fc3 resource of s.yaml.
type fcResource struct {
	name  string
	res   map[string]any // the resource (component, actions, props)
	props map[string]any
}

func fcResources(f deployFiles) []fcResource {
	var out []fcResource
	for name, r := range mapOf(f.s["resources"]) {
		if str(dig(r, "component")) == "fc3" {
			out = append(out, fcResource{name: name, res: mapOf(r), props: mapOf(dig(r, "props"))})
		}
	}
	return out
}

// samFunction is one AWS::Serverless::Function, Globals.Function merged in.
type samFunction struct {
	id    string
	res   map[string]any
	props map[string]any
}

func samFunctions(f deployFiles) []samFunction {
	var out []samFunction
	for id, r := range mapOf(f.tpl["Resources"]) {
		if str(dig(r, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := map[string]any{}
		for k, v := range mapOf(dig(f.tpl, "Globals", "Function")) {
			props[k] = v
		}
		for k, v := range mapOf(dig(r, "Properties")) {
			props[k] = v
		}
		out = append(out, samFunction{id: id, res: mapOf(r), props: props})
	}
	return out
}

// templateEnv is one Environment.Variables block of template.yaml.
type templateEnv struct {
	owner string
	vars  map[string]any
}

func templateEnvs(f deployFiles) []templateEnv {
	out := []templateEnv{{"Globals", mapOf(dig(f.tpl, "Globals", "Function", "Environment", "Variables"))}}
	for id, r := range mapOf(f.tpl["Resources"]) {
		out = append(out, templateEnv{id, mapOf(dig(r, "Properties", "Environment", "Variables"))})
	}
	return out
}

// envRef is a Serverless Devs ${env('NAME')} or ${env('NAME', default)},
// where default is a quoted string or vars.KEY (an entry of s.yaml's vars).
type envRef struct {
	name, def string
	hasDef    bool
	varKey    string // the default's vars key, when it names one
	varFound  bool   // vars holds varKey
}

var envRefRe = regexp.MustCompile(`^\$\{env\(\s*['"]([^'"]+)['"]\s*(?:,\s*(?:['"]([^'"]*)['"]|vars\.([A-Za-z_][A-Za-z0-9_]*))\s*)?\)\}$`)

// envRef reports whether v is exactly one ${env(...)} expression, with a
// vars.KEY default resolved from s.yaml's vars.
func (f deployFiles) envRef(v any) (envRef, bool) {
	s, ok := v.(string)
	if !ok {
		return envRef{}, false
	}
	m := envRefRe.FindStringSubmatchIndex(s)
	if m == nil {
		return envRef{}, false
	}
	r := envRef{name: s[m[2]:m[3]]}
	switch {
	case m[4] >= 0:
		r.hasDef, r.def = true, s[m[4]:m[5]]
	case m[6] >= 0:
		r.hasDef, r.varKey = true, s[m[6]:m[7]]
		var d any
		d, r.varFound = mapOf(f.s["vars"])[r.varKey]
		r.def = str(d)
	}
	return r, true
}

// sExprRe is how Serverless Devs finds a template expression: from ${ to the
// first closing brace.
var sExprRe = regexp.MustCompile(`\$\{([\w\W]*?)\}`)

// checkSExpressions finds the expressions of s.yaml that Serverless Devs
// cuts short: a closing brace inside a string ends the expression there
// (CompileError: missing ) after argument list), so what it compiles must
// have balanced quotes and parentheses.
func checkSExpressions(f deployFiles) []string {
	var p []string
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(at+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", at, i), x)
			}
		case string:
			for _, m := range sExprRe.FindAllStringSubmatch(v, -1) {
				if !balanced(m[1]) {
					p = append(p, fmt.Sprintf("s.yaml%s: %q is not a whole expression: Serverless Devs ends one at its first } (a default holding braces belongs in vars)", at, m[0]))
				}
			}
		}
	}
	walk("", f.s)
	slices.Sort(p)
	return p
}

// balanced reports whether a JavaScript expression closes every quote and
// parenthesis it opens (no escapes or template strings: s.yaml uses none).
func balanced(expr string) bool {
	depth, quote := 0, rune(0)
	for _, r := range expr {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return quote == 0 && depth == 0
}

// dig walks nested maps; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
func seqOf(v any) []any          { s, _ := v.([]any); return s }

// str renders a scalar as YAML wrote it; "" for anything else.
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int, float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

func isTrue(v any) bool { return v == true || v == "true" || v == "True" }

// decodeYAML parses a document into maps, slices and scalars. CloudFormation
// short forms become their long forms: !Ref X → {"Ref": X}, !Sub s →
// {"Fn::Sub": s}, !If [...] → {"Fn::If": [...]}.
func decodeYAML(text string) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("not a single YAML document")
	}
	v, err := plain(doc.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("top level is not a mapping")
	}
	return m, nil
}

func plain(n *yaml.Node) (any, error) {
	custom := strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := plain(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := plain(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if custom {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	if custom {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		v = map[string]any{name: v}
	}
	return v, nil
}

// ---- Makefile ----

// makefile is the little of GNU make the checks need: variables, rules,
// prerequisites and recipes. Conditionals are skipped.
type makefile struct {
	text  string // as written
	vars  map[string]string
	rules map[string]*rule
	first string // first ordinary target
}

type rule struct {
	prereqs []string
	recipe  []string
}

var (
	assignRe = regexp.MustCompile(`^\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*(\?=|::=|:=|\+=|=)\s*(.*)$`)
	ruleRe   = regexp.MustCompile(`^([^:=#\s][^:=#]*):([^=].*)?$`)
	refRe    = regexp.MustCompile(`\$\(([A-Za-z_.][A-Za-z0-9_.]*)\)|\$\{([A-Za-z_.][A-Za-z0-9_.]*)\}`)
	envArgRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

func parseMakefile(text string) *makefile {
	m := &makefile{text: text, vars: map[string]string{}, rules: map[string]*rule{}}
	text = strings.ReplaceAll(text, "\\\n", " ")
	var cur []*rule
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, "\t") {
			for _, r := range cur {
				r.recipe = append(r.recipe, strings.TrimSpace(line))
			}
			continue
		}
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if a := assignRe.FindStringSubmatch(line); a != nil {
			name, op, val := a[1], a[2], strings.TrimSpace(a[3])
			switch old, set := m.vars[name]; {
			case op == "?=" && set:
			case op == "+=" && set:
				m.vars[name] = old + " " + val
			default:
				m.vars[name] = val
			}
			cur = nil
			continue
		}
		r := ruleRe.FindStringSubmatch(line)
		if r == nil {
			cur = nil // a conditional or a function call line
			continue
		}
		cur = nil
		for _, tg := range strings.Fields(m.expand(r[1])) {
			if m.rules[tg] == nil {
				m.rules[tg] = &rule{}
			}
			if m.first == "" && !strings.HasPrefix(tg, ".") {
				m.first = tg
			}
			pre, _, _ := strings.Cut(r[2], "|")
			m.rules[tg].prereqs = append(m.rules[tg].prereqs, strings.Fields(m.expand(pre))...)
			cur = append(cur, m.rules[tg])
		}
	}
	return m
}

// expand substitutes the Makefile's own variables; other references
// ($(ARTIFACTS_DIR), function calls) stay as written.
func (m *makefile) expand(s string) string {
	for range 10 {
		out := refRe.ReplaceAllStringFunc(s, func(ref string) string {
			if v, ok := m.vars[strings.Trim(ref, "$(){}")]; ok {
				return v
			}
			return ref
		})
		if out == s {
			break
		}
		s = out
	}
	return s
}

func (m *makefile) defaultGoal() string {
	if g := m.vars[".DEFAULT_GOAL"]; g != "" {
		return g
	}
	return m.first
}

// recipe returns a target's own recipe lines, expanded.
func (m *makefile) recipe(target string) []string {
	r := m.rules[target]
	if r == nil {
		return nil
	}
	out := make([]string, len(r.recipe))
	for i, l := range r.recipe {
		out[i] = m.expand(l)
	}
	return out
}

// buildsFrom returns the go builds that `make target` runs.
func (m *makefile) buildsFrom(target string) []goBuild {
	var out []goBuild
	seen := map[string]bool{}
	var walk func(string)
	walk = func(tg string) {
		if seen[tg] || m.rules[tg] == nil {
			return
		}
		seen[tg] = true
		for _, pre := range m.rules[tg].prereqs {
			walk(pre)
		}
		for _, l := range m.recipe(tg) {
			if b, ok := parseGoBuild(l); ok {
				out = append(out, b)
			}
		}
	}
	walk(target)
	return out
}

// buildOf returns the one go build of the main package pkg.
func (m *makefile) buildOf(pkg string) (goBuild, error) {
	var found []goBuild
	for tg := range m.rules {
		for i, l := range m.recipe(tg) {
			if b, ok := parseGoBuild(l); ok && path.Clean(b.pkg) == pkg {
				b.raw = m.rules[tg].recipe[i]
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		return goBuild{}, fmt.Errorf("Makefile has %d go build commands for ./%s, want 1", len(found), pkg)
	}
	if found[0].out == "" {
		return goBuild{}, fmt.Errorf("Makefile builds ./%s without -o", pkg)
	}
	return found[0], nil
}

// goBuild is one `[ENV=…] go build [flags] -o OUT PKG` recipe line.
type goBuild struct {
	raw       string // the recipe line as written, unexpanded
	env       map[string]string
	flags     []string // normalized as -name=value or -name
	out, tags string
	pkg       string
}

func parseGoBuild(line string) (goBuild, bool) {
	f := shellFields(line)
	b := goBuild{env: map[string]string{}}
	i := 0
	for ; i < len(f) && envArgRe.MatchString(f[i]); i++ {
		k, v, _ := strings.Cut(f[i], "=")
		b.env[k] = v
	}
	if i+1 >= len(f) || path.Base(f[i]) != "go" || f[i+1] != "build" {
		return goBuild{}, false
	}
	valued := []string{"-o", "-tags", "-ldflags", "-gcflags", "-asmflags", "-mod", "-p", "-pgo", "-buildmode"}
	for j := i + 2; j < len(f); j++ {
		a := f[j]
		if !strings.HasPrefix(a, "-") {
			b.pkg = a
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if !hasVal && slices.Contains(valued, name) && j+1 < len(f) {
			val, hasVal = f[j+1], true
			j++
		}
		switch name {
		case "-o":
			b.out = path.Clean(val)
		case "-tags":
			b.tags = val
		}
		if hasVal {
			b.flags = append(b.flags, name+"="+val)
		} else {
			b.flags = append(b.flags, name)
		}
	}
	return b, true
}

// shellFields splits a command line on blanks, honouring '…' and "…".
func shellFields(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// requireEnv reports environment settings a go build lacks.
func requireEnv(b goBuild, want map[string]string) []string {
	var p []string
	for k, v := range want {
		if b.env[k] != v {
			p = append(p, fmt.Sprintf("Makefile builds %s with %s=%q, want %q", b.out, k, b.env[k], v))
		}
	}
	return p
}
