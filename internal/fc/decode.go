package fc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Present is the set of top-level JSON keys a request body carried with a
// non-null value, lower-cased: FC treats null exactly like an absent key and
// matches keys case-insensitively (spec §0).
type Present map[string]bool

// Has reports whether the JSON key name was present and non-null.
func (p Present) Has(name string) bool { return p[strings.ToLower(name)] }

// Decode decodes a JSON object body into v and reports which keys it
// carried. An empty body is an empty object. Malformed JSON or a value of
// the wrong type for a known field gives a 400 InvalidArgument naming the
// problem; unknown keys are ignored.
func Decode(body []byte, v any) (Present, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Present{}, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, decodeError(err)
	}
	p := make(Present, len(raw))
	for k, val := range raw {
		if !bytes.Equal(bytes.TrimSpace(val), []byte("null")) {
			p[strings.ToLower(k)] = true
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, decodeError(err)
	}
	return p, nil
}

func decodeError(err error) *Error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			return InvalidArgument("the request body must be a JSON object, not %s", typeErr.Value)
		}
		return InvalidArgument("field %q must be of type %s, not %s", field, jsonKind(typeErr.Type), typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return InvalidArgument("the request body is not valid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	}
	return InvalidArgument("the request body is not valid JSON: %v", err)
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// Merge implements FC's partial update: for every field of *dst whose JSON
// name is in present, it copies the value from *src, except fields tagged
// fc:"readonly" or fc:"immutable", which the server owns or which name the
// resource. Nested objects are replaced whole, as FC does
// (environmentVariables: {} clears them; tracingConfig: {} resets it).
func Merge[T any](dst, src *T, present Present) {
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src).Elem()
	t := dv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := f.Tag.Get("fc"); tag == "readonly" || tag == "immutable" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !present.Has(name) {
			continue
		}
		dv.Field(i).Set(sv.Field(i))
	}
}

// JoinErrors turns a list of validation problems into one 400
// InvalidArgument naming every problem, or nil when there are none.
func JoinErrors(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return InvalidArgument("%s", strings.Join(problems, "; "))
}

// problemf formats one validation problem.
func problemf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
