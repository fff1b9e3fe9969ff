package fc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// wantInvalid checks that err is FC's 400 InvalidArgument and that its
// message mentions every one of words (case-insensitively).
func wantInvalid(t *testing.T, call string, err error, words ...string) {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("%s = %v, want *fc.Error InvalidArgument", call, err)
	}
	if e.Status != http.StatusBadRequest || e.Code != CodeInvalidArgument {
		t.Fatalf("%s = %d %s, want 400 %s", call, e.Status, e.Code, CodeInvalidArgument)
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(e.Message), strings.ToLower(w)) {
			t.Errorf("%s message %q does not mention %q", call, e.Message, w)
		}
	}
}

func TestDecodePresentKeys(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Present
	}{
		{"empty body", ``, Present{}},
		{"whitespace body", " \n\t ", Present{}},
		{"empty object", `{}`, Present{}},
		{"null is absent", `{"description":null,"functionName":"f"}`, Present{"functionname": true}},
		{"null with spaces is absent", `{"description": null }`, Present{}},
		{"keys lower-cased", `{"FunctionName":"f","MEMORYSIZE":256}`, Present{"functionname": true, "memorysize": true}},
		{"empty string is present", `{"description":""}`, Present{"description": true}},
		{"empty object is present", `{"environmentVariables":{}}`, Present{"environmentvariables": true}},
		{"unknown keys kept but harmless", `{"whatever":[1,2]}`, Present{"whatever": true}},
		{"go sdk all-null style", `{"functionName":null,"description":"d","runtime":null,"handler":null,"memorySize":null,"environmentVariables":null,"code":null}`, Present{"description": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in FunctionInput
			got, err := Decode([]byte(tt.body), &in)
			if err != nil {
				t.Fatalf("Decode(%q) error = %v", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%q) present mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestDecodeCaseInsensitiveKeys(t *testing.T) {
	body := `{"FunctionName":"hello","MemorySize":512,"HANDLER":"index.handler","environmentvariables":{"K":"V"},"Code":{"ZipFile":"UEs="}}`
	var in FunctionInput
	p, err := Decode([]byte(body), &in)
	if err != nil {
		t.Fatalf("Decode(%q) error = %v", body, err)
	}
	want := FunctionInput{
		Function: Function{FunctionName: "hello", MemorySize: 512, Handler: "index.handler", EnvironmentVariables: map[string]string{"K": "V"}},
		Code:     &Code{ZipFile: "UEs="},
	}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("Decode(%q) mismatch (-want +got):\n%s", body, diff)
	}
	for _, k := range []string{"functionName", "memorySize", "handler", "environmentVariables", "code"} {
		if !p.Has(k) {
			t.Errorf("Decode(%q).Has(%q) = false, want true", body, k)
		}
	}
	if p.Has("runtime") {
		t.Errorf("Decode(%q).Has(%q) = true, want false", body, "runtime")
	}
}

func TestDecodeUnknownKeysIgnored(t *testing.T) {
	body := `{"serviceName":"s","futureField":{"deep":[1,"x",null]},"another":7}`
	var in Service
	if _, err := Decode([]byte(body), &in); err != nil {
		t.Fatalf("Decode(%q) error = %v, want nil", body, err)
	}
	if in.ServiceName != "s" {
		t.Errorf("Decode(%q).ServiceName = %q, want %q", body, in.ServiceName, "s")
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		into  func() any
		words []string // the message must name these
	}{
		{"malformed", `{"functionName":`, func() any { return new(FunctionInput) }, []string{"JSON"}},
		{"trailing garbage", `{"functionName":"f"} x`, func() any { return new(FunctionInput) }, []string{"JSON"}},
		{"not json", `functionName=f`, func() any { return new(FunctionInput) }, []string{"JSON"}},
		{"array body", `[1,2]`, func() any { return new(FunctionInput) }, []string{"object"}},
		{"string body", `"hello"`, func() any { return new(Service) }, []string{"object"}},
		{"number body", `42`, func() any { return new(Trigger) }, []string{"object"}},
		{"string for int", `{"memorySize":"big"}`, func() any { return new(FunctionInput) }, []string{"memorySize", "integer"}},
		{"float for int", `{"timeout":1.5}`, func() any { return new(FunctionInput) }, []string{"timeout"}},
		{"int for string", `{"description":5}`, func() any { return new(Service) }, []string{"description", "string"}},
		{"string for bool", `{"internetAccess":"yes"}`, func() any { return new(Service) }, []string{"internetAccess", "boolean"}},
		{"array for map", `{"environmentVariables":["A=1"]}`, func() any { return new(FunctionInput) }, []string{"environmentVariables", "object"}},
		{"number in map", `{"environmentVariables":{"A":1}}`, func() any { return new(FunctionInput) }, []string{"environmentVariables"}},
		{"nested wrong type", `{"code":{"zipFile":12}}`, func() any { return new(FunctionInput) }, []string{"zipFile"}},
		{"nested object wrong type", `{"logConfig":{"project":true}}`, func() any { return new(Service) }, []string{"project"}},
		{"object for string", `{"triggerName":{"a":1}}`, func() any { return new(Trigger) }, []string{"triggerName"}},
		{"string for array", `{"layers":"x"}`, func() any { return new(FunctionInput) }, []string{"layers", "array"}},
		{"case-insensitive wrong type", `{"MemorySize":"big"}`, func() any { return new(FunctionInput) }, []string{"memorySize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(tt.body), tt.into())
			if p != nil {
				t.Errorf("Decode(%q) present = %v, want nil on error", tt.body, p)
			}
			wantInvalid(t, "Decode("+tt.body+")", err, tt.words...)
		})
	}
}

func TestMergeFunction(t *testing.T) {
	base := func() Function {
		return Function{
			FunctionName: "f", FunctionID: "id-1", Description: "old", Runtime: "python3.9", Handler: "index.handler",
			Timeout: 60, MemorySize: 256, InstanceConcurrency: 1, InstanceType: "e1", CAPort: 9000,
			CodeSize: 100, CodeChecksum: "123", EnvironmentVariables: map[string]string{"A": "1", "B": "2"},
			Layers: []string{"l1"}, CreatedTime: "2025-01-01T00:00:00Z", LastModifiedTime: "2025-01-01T00:00:00Z",
		}
	}
	tests := []struct {
		name string
		body string
		want func(*Function)
	}{
		{"nothing present", `{}`, func(*Function) {}},
		{"all null", `{"description":null,"runtime":null,"memorySize":null,"environmentVariables":null,"layers":null}`, func(*Function) {}},
		{"one field", `{"memorySize":512}`, func(f *Function) { f.MemorySize = 512 }},
		{"empty string is a value", `{"description":""}`, func(f *Function) { f.Description = "" }},
		{"map replaced whole", `{"environmentVariables":{"C":"3"}}`, func(f *Function) { f.EnvironmentVariables = map[string]string{"C": "3"} }},
		{"empty map clears", `{"environmentVariables":{}}`, func(f *Function) { f.EnvironmentVariables = map[string]string{} }},
		{"slice replaced", `{"layers":[]}`, func(f *Function) { f.Layers = []string{} }},
		{"immutable name", `{"functionName":"g"}`, func(*Function) {}},
		{"readonly fields", `{"functionId":"x","codeSize":1,"codeChecksum":"9","createdTime":"x","lastModifiedTime":"y"}`, func(*Function) {}},
		{"case-insensitive", `{"Description":"new","TIMEOUT":30}`, func(f *Function) { f.Description, f.Timeout = "new", 30 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in FunctionInput
			p, err := Decode([]byte(tt.body), &in)
			if err != nil {
				t.Fatalf("Decode(%q) error = %v", tt.body, err)
			}
			got, want := base(), base()
			Merge(&got, &in.Function, p)
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Merge(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestMergeServiceNestedObjects(t *testing.T) {
	base := func() Service {
		return Service{
			ServiceName: "s", ServiceID: "sid", Description: "d", Role: "r",
			LogConfig:      &LogConfig{Project: "p", Logstore: "l", EnableRequestMetrics: true},
			TracingConfig:  &TracingConfig{Type: ptr("Jaeger"), Params: map[string]string{"endpoint": "http://j"}},
			InternetAccess: ptr(false),
			Tags:           map[string]string{"k": "v"},
		}
	}
	tests := []struct {
		name string
		body string
		want func(*Service)
	}{
		{"tracing cleared by empty object", `{"tracingConfig":{}}`, func(s *Service) { s.TracingConfig = &TracingConfig{} }},
		{"nested object replaced whole", `{"logConfig":{"project":"q"}}`, func(s *Service) { s.LogConfig = &LogConfig{Project: "q"} }},
		{"bool false kept distinct from absent", `{"internetAccess":true}`, func(s *Service) { s.InternetAccess = ptr(true) }},
		{"tags are readonly", `{"tags":{"x":"y"}}`, func(*Service) {}},
		{"name and id untouched", `{"serviceName":"t","serviceId":"x"}`, func(*Service) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in Service
			p, err := Decode([]byte(tt.body), &in)
			if err != nil {
				t.Fatalf("Decode(%q) error = %v", tt.body, err)
			}
			got, want := base(), base()
			Merge(&got, &in, p)
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Merge(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestMergeTriggerAndAlias(t *testing.T) {
	tr := Trigger{TriggerName: "t", TriggerID: "id", TriggerType: "http", Qualifier: "LATEST", TriggerConfig: []byte(`{"a":1}`)}
	var tin Trigger
	p, err := Decode([]byte(`{"triggerType":"timer","triggerName":"u","triggerConfig":{"b":2},"description":"x"}`), &tin)
	if err != nil {
		t.Fatal(err)
	}
	Merge(&tr, &tin, p)
	want := Trigger{TriggerName: "t", TriggerID: "id", TriggerType: "http", Qualifier: "LATEST", TriggerConfig: []byte(`{"b":2}`), Description: "x"}
	if diff := cmp.Diff(want, tr); diff != "" {
		t.Errorf("Merge(trigger) mismatch (-want +got):\n%s", diff)
	}

	a := Alias{AliasName: "prod", VersionID: "1", Description: "d", AdditionalVersionWeight: map[string]float64{"2": 0.5}}
	var ain Alias
	p, err = Decode([]byte(`{"versionId":null,"description":"","aliasName":"x"}`), &ain)
	if err != nil {
		t.Fatal(err)
	}
	Merge(&a, &ain, p)
	wantA := Alias{AliasName: "prod", VersionID: "1", Description: "", AdditionalVersionWeight: map[string]float64{"2": 0.5}}
	if diff := cmp.Diff(wantA, a); diff != "" {
		t.Errorf("Merge(alias) mismatch (-want +got):\n%s", diff)
	}
}

// FuzzDecode feeds arbitrary bytes to Decode for each request type: it must
// never panic, and every failure is a 400 InvalidArgument.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"functionName":"f","code":{"zipFile":"UEs="}}`,
		`{"FunctionName":null,"memorySize":"x"}`, `{"environmentVariables":{"A":1}}`,
		`{"serviceName":"s","tracingConfig":{},"logConfig":{"project":1}}`,
		`{"triggerConfig":{"authType":"anonymous","methods":["GET"]},"triggerType":"http"}`,
		`{"a":`, "\xff\xfe", `{"layers":[1,2]}`, `{"nasConfig":{"userId":-1,"mountPoints":[{}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{new(FunctionInput), new(Service), new(Trigger), new(Alias), new(CustomDomain), new(AsyncConfig)} {
			p, err := Decode(body, v)
			if err != nil {
				e, ok := AsError(err)
				if !ok || e.Status != http.StatusBadRequest || e.Code != CodeInvalidArgument {
					t.Fatalf("Decode(%q, %T) error = %v, want 400 InvalidArgument", body, v, err)
				}
				continue
			}
			// Whatever decoded must merge and validate without panicking.
			switch in := v.(type) {
			case *FunctionInput:
				f := Function{FunctionName: "f"}
				f.ApplyDefaults()
				Merge(&f, &in.Function, p)
				_ = ValidateFunction(&f)
			case *Service:
				s := Service{ServiceName: "s"}
				s.ApplyDefaults()
				Merge(&s, in, p)
				_ = ValidateService(&s)
			case *Trigger:
				_ = ValidateTrigger(in, nil)
			case *Alias:
				_ = ValidateAlias(in)
			}
		}
	})
}
