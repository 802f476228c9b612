// Package envdefaults fills a struct from its fields' `default:"…"` tags,
// the way github.com/kelseyhightower/envconfig does for variables that are
// not set, without reading the environment. Tests use it to build a
// configuration (such as function.Config) with its documented defaults,
// and to unset the variables such a configuration reads.
package envdefaults

import (
	"encoding"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Decoder is envconfig.Decoder: a type that parses its own value.
type Decoder interface {
	Decode(value string) error
}

// Setter is envconfig.Setter, tried after Decoder.
type Setter interface {
	Set(value string) error
}

// Fill sets each field of the struct ptr points to that has a non-empty
// `default` tag to the tag's value, parsed as envconfig parses it: strings
// as they are, slices split on commas, numbers, bools, time.Duration, and
// types implementing Decoder, Setter or encoding.TextUnmarshaler. Other
// fields keep their value, as envconfig leaves a field whose variable is
// unset and whose default is empty. Fill reports an unsupported field type or a default
// that does not parse, naming the field.
func Fill(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("envdefaults: want a non-nil pointer to a struct, got %T", ptr)
	}
	v = v.Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		def := f.Tag.Get("default")
		if def == "" { // as in envconfig: an empty default is no default
			continue
		}
		if !f.IsExported() {
			return fmt.Errorf("envdefaults: field %s is not exported", f.Name)
		}
		if err := set(v.Field(i), def); err != nil {
			return fmt.Errorf("envdefaults: field %s: default %q: %w", f.Name, def, err)
		}
	}
	return nil
}

// set parses s into the settable value v.
func set(v reflect.Value, s string) error {
	switch p := v.Addr().Interface().(type) {
	case Decoder:
		return p.Decode(s)
	case Setter:
		return p.Set(s)
	case encoding.TextUnmarshaler:
		return p.UnmarshalText([]byte(s))
	case *time.Duration:
		d, err := time.ParseDuration(s)
		*p = d
		return err
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(x)
	case reflect.Slice:
		if strings.TrimSpace(s) == "" { // as in envconfig
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return nil
		}
		parts := strings.Split(s, ",")
		sl := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, part := range parts {
			if err := set(sl.Index(i), part); err != nil {
				return err
			}
		}
		v.Set(sl)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// Unset unsets, for the test t, every variable named by an `envconfig` tag
// of the struct v, so that what the test loads is its own settings and the
// defaults, never the shell's; t.Setenv restores each one after the test.
func Unset(t testing.TB, v any) {
	t.Helper()
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		if name := typ.Field(i).Tag.Get("envconfig"); name != "" {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}
