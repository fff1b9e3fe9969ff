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
	if body[0] != '{' {
		return nil, InvalidArgument("the request body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, decodeError(err)
	}
	// The body is valid JSON now, so a light scan of its top level finds
	// the keys: a second full decode into a map would double the cost of
	// a 100 MB code upload.
	return topLevelKeys(body), nil
}

// topLevelKeys returns the keys of a valid JSON object whose values are not
// null, lower-cased.
func topLevelKeys(obj []byte) Present {
	p := Present{}
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] != '}' {
		end := stringEnd(obj, i)
		raw := obj[i:end]
		var key string
		if bytes.IndexByte(raw, '\\') >= 0 {
			_ = json.Unmarshal(raw, &key) // valid JSON: cannot fail
		} else {
			key = string(raw[1 : len(raw)-1])
		}
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // ':'
		vend := valueEnd(obj, i)
		// With duplicate keys the last one wins, as in encoding/json.
		if bytes.Equal(obj[i:vend], []byte("null")) {
			delete(p, strings.ToLower(key))
		} else {
			p[strings.ToLower(key)] = true
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return p
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexAny(b[j:], "\"\\")
		if k < 0 {
			return len(b)
		}
		j += k
		if b[j] == '"' {
			return j + 1
		}
		j += 2 // skip the escaped character
	}
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
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
