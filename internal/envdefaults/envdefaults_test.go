package envdefaults_test

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"

	"smsverify/internal/envdefaults"
)

// upper is a Decoder.
type upper string

func (u *upper) Decode(s string) error { *u = upper(strings.ToUpper(s)); return nil }

// lower is a Setter.
type lower string

func (l *lower) Set(s string) error { *l = lower(strings.ToLower(s)); return nil }

// spec has a field of every kind Fill supports, and fields without a default.
type spec struct {
	S      string        `envconfig:"S" default:"hello, world"`
	Empty  string        `envconfig:"EMPTY"`
	Kept   string        `envconfig:"KEPT"`
	List   []string      `envconfig:"LIST" default:"a,b,,c"`
	None   []string      `envconfig:"NONE" default:""`
	Blank  []string      `envconfig:"BLANK" default:" "`
	Zero   int           `envconfig:"ZERO" default:""`
	Nums   []int64       `envconfig:"NUMS" default:"1,0x10"`
	I      int           `envconfig:"I" default:"-7"`
	I64    int64         `envconfig:"I64" default:"0x20"`
	U8     uint8         `envconfig:"U8" default:"255"`
	F      float64       `envconfig:"F" default:"1.5"`
	B      bool          `envconfig:"B" default:"true"`
	D      time.Duration `envconfig:"D" default:"1m30s"`
	Dec    upper         `envconfig:"DEC" default:"shout"`
	Set    lower         `envconfig:"SET" default:"WHISPER"`
	Text   netip.Addr    `envconfig:"TEXT" default:"127.0.0.1"`
	Decs   []upper       `envconfig:"DECS" default:"x,y"`
	Ignore int           // no tags at all
}

const prefix = "ENVDEFAULTS_TEST"

func TestFill(t *testing.T) {
	got := spec{Kept: "kept"}
	if err := envdefaults.Fill(&got); err != nil {
		t.Fatal(err)
	}
	want := spec{
		S: "hello, world", Kept: "kept", List: []string{"a", "b", "", "c"}, Blank: []string{}, Nums: []int64{1, 16},
		I: -7, I64: 32, U8: 255, F: 1.5, B: true, D: 90 * time.Second, Dec: "SHOUT", Set: "whisper",
		Text: netip.MustParseAddr("127.0.0.1"), Decs: []upper{"X", "Y"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fill:\n got %+v\nwant %+v", got, want)
	}
}

// TestFillMatchesEnvconfig: Fill gives what envconfig.Process gives when
// none of the variables is set.
func TestFillMatchesEnvconfig(t *testing.T) {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, prefix+"_") {
			t.Fatalf("environment is not clean: %s", kv)
		}
	}
	var fromEnv, filled spec
	if err := envconfig.Process(prefix, &fromEnv); err != nil {
		t.Fatal(err)
	}
	if err := envdefaults.Fill(&filled); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(filled, fromEnv) {
		t.Errorf("Fill = %+v\nenvconfig.Process = %+v", filled, fromEnv)
	}
}

func TestFillErrors(t *testing.T) {
	var n int
	for name, tc := range map[string]struct {
		ptr  any
		want string
	}{
		"not a pointer": {spec{}, "want a non-nil pointer to a struct"},
		"nil pointer":   {(*spec)(nil), "want a non-nil pointer to a struct"},
		"not a struct":  {&n, "want a non-nil pointer to a struct"},
		"bad int": {&struct {
			N int `default:"ten"`
		}{}, `field N: default "ten"`},
		"bad duration": {&struct {
			D time.Duration `default:"soon"`
		}{}, `field D: default "soon"`},
		"bad element": {&struct {
			L []bool `default:"true,maybe"`
		}{}, `field L: default "true,maybe"`},
		"bad text": {&struct {
			A netip.Addr `default:"localhost"`
		}{}, `field A: default "localhost"`},
		"unsupported": {&struct {
			M map[string]string `default:"a:b"`
		}{}, "field M: default \"a:b\": unsupported type map[string]string"},
		"unexported": {&struct {
			x string `default:"x"`
		}{}, "field x is not exported"},
	} {
		t.Run(name, func(t *testing.T) {
			err := envdefaults.Fill(tc.ptr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fill(%T) = %v, want an error containing %q", tc.ptr, err, tc.want)
			}
		})
	}
}
