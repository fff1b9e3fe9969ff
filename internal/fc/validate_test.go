package fc

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		max  int
		want bool
	}{
		{"a", 64, true},
		{"_", 64, true},
		{"A_b-9", 64, true},
		{"_1", 64, true},
		{"abc-", 64, true},
		{"", 64, false},
		{"1abc", 64, false},
		{"-abc", 64, false},
		{"a.b", 64, false},
		{"a b", 64, false},
		{"a/b", 64, false},
		{"ä", 64, false},
		{"a$", 64, false},
		{strings.Repeat("a", 64), 64, true},
		{strings.Repeat("a", 65), 64, false},
		{strings.Repeat("a", 128), 128, true},
		{strings.Repeat("a", 129), 128, false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.name, tt.max); got != tt.want {
			t.Errorf("ValidName(%q, %d) = %v, want %v", tt.name, tt.max, got, tt.want)
		}
	}
}

func TestValidQualifierAndSplit(t *testing.T) {
	for q, want := range map[string]bool{"LATEST": true, "1": true, "42": true, "prod": true, "a-b": true, "": false, "a.b": false, "-1": false, "1a": false} {
		if got := ValidQualifier(q); got != want {
			t.Errorf("ValidQualifier(%q) = %v, want %v", q, got, want)
		}
	}
	for in, want := range map[string][2]string{"s": {"s", ""}, "s.LATEST": {"s", "LATEST"}, "s.1": {"s", "1"}, "s.a.b": {"s", "a.b"}, ".x": {"", "x"}} {
		svc, q := SplitQualifier(in)
		if got := [2]string{svc, q}; got != want {
			t.Errorf("SplitQualifier(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvProblems(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		words []string // nil: valid
	}{
		{"nil", nil, nil},
		{"empty", map[string]string{}, nil},
		{"valid", map[string]string{"A": "1", "my_var2": "hello world ~!", "Z9": ""}, nil},
		{"digit first", map[string]string{"1A": "x"}, []string{"1A", "invalid"}},
		{"underscore first", map[string]string{"_A": "x"}, []string{"_A", "invalid"}},
		{"dash", map[string]string{"A-B": "x"}, []string{"A-B", "invalid"}},
		{"dot", map[string]string{"A.B": "x"}, []string{"A.B", "invalid"}},
		{"empty key", map[string]string{"": "x"}, []string{"invalid"}},
		{"FC prefix", map[string]string{"FC_FUNC_CODE_PATH": "/x"}, []string{"FC_FUNC_CODE_PATH", "reserved"}},
		{"FC prefix custom", map[string]string{"FC_MINE": "x"}, []string{"FC_MINE", "reserved"}},
		{"accessKeyID", map[string]string{"accessKeyID": "x"}, []string{"accessKeyID", "reserved"}},
		{"accessKeySecret", map[string]string{"accessKeySecret": "x"}, []string{"accessKeySecret", "reserved"}},
		{"securityToken", map[string]string{"securityToken": "x"}, []string{"securityToken", "reserved"}},
		{"topic", map[string]string{"topic": "x"}, []string{"topic", "reserved"}},
		{"newline value", map[string]string{"A": "a\nb"}, []string{"A", "printable"}},
		{"tab value", map[string]string{"A": "a\tb"}, []string{"printable"}},
		{"DEL value", map[string]string{"A": "\x7f"}, []string{"printable"}},
		{"non-ascii value", map[string]string{"A": "é"}, []string{"printable"}},
		{"exactly 4 KB", map[string]string{"A": strings.Repeat("x", MaxEnvBytes-1)}, nil},
		{"over 4 KB", map[string]string{"A": strings.Repeat("x", MaxEnvBytes)}, []string{"4096"}},
		{"over 4 KB in total", map[string]string{"A": strings.Repeat("x", 2048), "B": strings.Repeat("x", 2048)}, []string{"limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := EnvProblems(tt.env)
			if tt.words == nil {
				if len(p) != 0 {
					t.Errorf("EnvProblems(%v) = %q, want none", tt.env, p)
				}
				return
			}
			if len(p) == 0 {
				t.Fatalf("EnvProblems(%v) = none, want a problem naming %q", tt.env, tt.words)
			}
			all := strings.Join(p, "; ")
			for _, w := range tt.words {
				if !strings.Contains(all, w) {
					t.Errorf("EnvProblems(%v) = %q, does not mention %q", tt.env, all, w)
				}
			}
		})
	}
}

func TestEnvProblemsListsEveryProblem(t *testing.T) {
	p := EnvProblems(map[string]string{"1X": "a", "FC_A": "b", "topic": "c", "OK": "\n"})
	if len(p) != 4 {
		t.Errorf("EnvProblems(4 bad variables) = %d problems %q, want 4", len(p), p)
	}
}

func validFunction() Function {
	f := Function{FunctionName: "hello", Runtime: "python3.9", Handler: "index.handler"}
	f.ApplyDefaults()
	return f
}

func TestApplyDefaults(t *testing.T) {
	var f Function
	f.ApplyDefaults()
	want := Function{Timeout: 60, InitializationTimeout: 3, MemorySize: 128, InstanceConcurrency: 1, InstanceType: "e1", CAPort: 9000, EnvironmentVariables: map[string]string{}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("Function.ApplyDefaults() mismatch (-want +got):\n%s", diff)
	}
	var s Service
	s.ApplyDefaults()
	wantS := Service{LogConfig: &LogConfig{}, VPCConfig: &VPCConfig{VSwitchIDs: []string{}}, InternetAccess: ptr(true),
		NASConfig: &NASConfig{UserID: -1, GroupID: -1, MountPoints: []NASMountPoint{}}, TracingConfig: &TracingConfig{}}
	if diff := cmp.Diff(wantS, s); diff != "" {
		t.Errorf("Service.ApplyDefaults() mismatch (-want +got):\n%s", diff)
	}
	s.InternetAccess = ptr(false)
	s.ApplyDefaults()
	if !cmp.Equal(s.InternetAccess, ptr(false)) {
		t.Errorf("Service.ApplyDefaults() changed internetAccess false to %v", *s.InternetAccess)
	}
}

func TestValidateFunction(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Function)
		words  []string // nil: valid
	}{
		{"valid", func(*Function) {}, nil},
		{"every runtime", nil, nil}, // expanded below
		{"empty name", func(f *Function) { f.FunctionName = "" }, []string{"functionName is required"}},
		{"bad name", func(f *Function) { f.FunctionName = "9lives" }, []string{"9lives"}},
		{"name 64", func(f *Function) { f.FunctionName = strings.Repeat("f", 64) }, nil},
		{"name 65", func(f *Function) { f.FunctionName = strings.Repeat("f", 65) }, []string{"functionName"}},
		{"no runtime", func(f *Function) { f.Runtime = "" }, []string{"runtime is required"}},
		{"bad runtime", func(f *Function) { f.Runtime = "java8" }, []string{"Runtime is set to an invalid value"}},
		{"no handler", func(f *Function) { f.Handler = "" }, []string{"handler is required"}},
		{"custom any handler", func(f *Function) { f.Runtime, f.Handler = "custom", "whatever" }, nil},
		{"description 256", func(f *Function) { f.Description = strings.Repeat("d", 256) }, nil},
		{"description 257", func(f *Function) { f.Description = strings.Repeat("d", 257) }, []string{"description"}},
		{"memory 128", func(f *Function) { f.MemorySize = 128 }, nil},
		{"memory 3072", func(f *Function) { f.MemorySize = 3072 }, nil},
		{"memory 192", func(f *Function) { f.MemorySize = 192 }, nil},
		{"memory 64", func(f *Function) { f.MemorySize = 64 }, []string{"memorySize 64"}},
		{"memory 100", func(f *Function) { f.MemorySize = 100 }, []string{"memorySize 100", "multiple of 64"}},
		{"memory 130", func(f *Function) { f.MemorySize = 130 }, []string{"memorySize 130"}},
		{"memory 3136", func(f *Function) { f.MemorySize = 3136 }, []string{"memorySize 3136"}},
		{"memory negative", func(f *Function) { f.MemorySize = -128 }, []string{"memorySize"}},
		{"c1 4096", func(f *Function) { f.InstanceType, f.MemorySize = "c1", 4096 }, nil},
		{"c1 32768", func(f *Function) { f.InstanceType, f.MemorySize = "c1", 32768 }, nil},
		{"c1 3072", func(f *Function) { f.InstanceType, f.MemorySize = "c1", 3072 }, []string{"c1"}},
		{"e1 4096", func(f *Function) { f.MemorySize = 4096 }, []string{"e1"}},
		{"unknown instance type", func(f *Function) { f.InstanceType = "g9" }, []string{"instanceType"}},
		{"timeout 1", func(f *Function) { f.Timeout = 1 }, nil},
		{"timeout 86400", func(f *Function) { f.Timeout = 86400 }, nil},
		{"timeout 86401", func(f *Function) { f.Timeout = 86401 }, []string{"timeout 86401"}},
		{"timeout negative", func(f *Function) { f.Timeout = -1 }, []string{"timeout -1"}},
		{"init timeout 300", func(f *Function) { f.InitializationTimeout = 300 }, nil},
		{"init timeout 301", func(f *Function) { f.InitializationTimeout = 301 }, []string{"initializationTimeout"}},
		{"concurrency 100", func(f *Function) { f.InstanceConcurrency = 100 }, nil},
		{"concurrency 101", func(f *Function) { f.InstanceConcurrency = 101 }, []string{"instanceConcurrency 101"}},
		{"concurrency negative", func(f *Function) { f.InstanceConcurrency = -1 }, []string{"instanceConcurrency"}},
		{"caPort 65535", func(f *Function) { f.CAPort = 65535 }, nil},
		{"caPort 65536", func(f *Function) { f.CAPort = 65536 }, []string{"caPort"}},
		{"five layers", func(f *Function) { f.Layers = []string{"a", "b", "c", "d", "e"} }, nil},
		{"six layers", func(f *Function) { f.Layers = []string{"a", "b", "c", "d", "e", "f"} }, []string{"layers"}},
		{"preStop 90", func(f *Function) {
			f.InstanceLifecycleConfig = &InstanceLifecycleConfig{PreStop: &LifecycleHook{Handler: "h", Timeout: 90}}
		}, nil},
		{"preStop 91", func(f *Function) {
			f.InstanceLifecycleConfig = &InstanceLifecycleConfig{PreStop: &LifecycleHook{Handler: "h", Timeout: 91}}
		}, []string{"preStop"}},
		{"preFreeze 0", func(f *Function) {
			f.InstanceLifecycleConfig = &InstanceLifecycleConfig{PreFreeze: &LifecycleHook{Handler: "h"}}
		}, []string{"preFreeze"}},
		{"reserved env", func(f *Function) { f.EnvironmentVariables = map[string]string{"FC_X": "1"} }, []string{"FC_X", "reserved"}},
		{"every problem at once", func(f *Function) { f.FunctionName, f.Runtime, f.MemorySize = "-x", "cobol", 100 },
			[]string{"-x", "cobol", "memorySize 100"}},
	}
	for _, tt := range tests {
		if tt.change == nil {
			for _, rt := range Runtimes() {
				f := validFunction()
				f.Runtime = rt
				if err := ValidateFunction(&f); err != nil {
					t.Errorf("ValidateFunction(runtime %q) = %v, want nil", rt, err)
				}
			}
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			f := validFunction()
			tt.change(&f)
			err := ValidateFunction(&f)
			if tt.words == nil {
				if err != nil {
					t.Errorf("ValidateFunction(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			wantInvalid(t, "ValidateFunction("+tt.name+")", err, tt.words...)
		})
	}
}

func TestValidateService(t *testing.T) {
	tests := []struct {
		name  string
		svc   Service
		words []string
	}{
		{"valid", Service{ServiceName: "demo"}, nil},
		{"name 128", Service{ServiceName: strings.Repeat("s", 128)}, nil},
		{"name 129", Service{ServiceName: strings.Repeat("s", 129)}, []string{"serviceName"}},
		{"empty name", Service{}, []string{"serviceName is required"}},
		{"dot in name", Service{ServiceName: "a.b"}, []string{`"a.b"`}},
		{"description 257", Service{ServiceName: "s", Description: strings.Repeat("d", 257)}, []string{"description"}},
		{"jaeger", Service{ServiceName: "s", TracingConfig: &TracingConfig{Type: ptr("Jaeger")}}, nil},
		{"cleared tracing", Service{ServiceName: "s", TracingConfig: &TracingConfig{}}, nil},
		{"zipkin", Service{ServiceName: "s", TracingConfig: &TracingConfig{Type: ptr("Zipkin")}}, []string{"Zipkin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateService(&tt.svc)
			if tt.words == nil {
				if err != nil {
					t.Errorf("ValidateService(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			wantInvalid(t, "ValidateService("+tt.name+")", err, tt.words...)
		})
	}
}

func TestValidateTrigger(t *testing.T) {
	arn := "acs:oss:cn-hangzhou:123:bucket"
	badCron := errors.New("bad spec")
	cron := func(expr string) error {
		if expr == "nonsense" {
			return badCron
		}
		return nil
	}
	tests := []struct {
		name  string
		tr    Trigger
		words []string
	}{
		{"http", Trigger{TriggerName: "h", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET","post"]}`)}, nil},
		{"http function auth", Trigger{TriggerName: "h", TriggerType: "http", TriggerConfig: []byte(`{"authType":"function","methods":["OPTIONS"]}`)}, nil},
		{"http bad auth", Trigger{TriggerName: "h", TriggerType: "http", TriggerConfig: []byte(`{"authType":"jwt","methods":["GET"]}`)}, []string{"authType"}},
		{"http no methods", Trigger{TriggerName: "h", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous"}`)}, []string{"methods"}},
		{"http bad method", Trigger{TriggerName: "h", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["FETCH"]}`)}, []string{"FETCH"}},
		{"http config wrong type", Trigger{TriggerName: "h", TriggerType: "http", TriggerConfig: []byte(`{"methods":"GET"}`)}, []string{"http"}},
		{"timer", Trigger{TriggerName: "t", TriggerType: "timer", TriggerConfig: []byte(`{"cronExpression":"@every 5m","enable":true}`)}, nil},
		{"timer no cron", Trigger{TriggerName: "t", TriggerType: "timer", TriggerConfig: []byte(`{"enable":true}`)}, []string{"cronExpression"}},
		{"timer bad cron", Trigger{TriggerName: "t", TriggerType: "timer", TriggerConfig: []byte(`{"cronExpression":"nonsense"}`)}, []string{"nonsense", "bad spec"}},
		{"oss", Trigger{TriggerName: "o", TriggerType: "oss", SourceARN: &arn, TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"]}`)}, nil},
		{"oss no arn", Trigger{TriggerName: "o", TriggerType: "oss", TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"]}`)}, []string{"sourceArn"}},
		{"oss no events", Trigger{TriggerName: "o", TriggerType: "oss", SourceARN: &arn, TriggerConfig: []byte(`{}`)}, []string{"events"}},
		{"oss bad event", Trigger{TriggerName: "o", TriggerType: "oss", SourceARN: &arn, TriggerConfig: []byte(`{"events":["s3:Put"]}`)}, []string{"s3:Put"}},
		{"log needs arn", Trigger{TriggerName: "l", TriggerType: "log", TriggerConfig: []byte(`{}`)}, []string{"sourceArn", "log"}},
		{"tablestore", Trigger{TriggerName: "l", TriggerType: "tablestore", SourceARN: &arn, TriggerConfig: []byte(`{}`)}, nil},
		{"eventbridge", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"Default"}}`)}, nil},
		{"eventbridge no source", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{}`)}, []string{"eventSourceConfig"}},
		{"eventbridge nats subject", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":{"Subject":"logs.*.>"}}},"runOptions":{"batchWindow":{"CountBasedWindow":100,"TimeBasedWindow":15}}}`)}, nil},
		{"eventbridge nats stream", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"nats","eventSourceParameters":{"sourceNATSParameters":{"Stream":"LOGS","Consumer":"c1","DeliverPolicy":"new","Url":"nats://a:4222,tls://b:4222"}}}}`)}, nil},
		{"eventbridge nats lower-case keys", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":{"subject":"x"}}}}`)}, nil},
		{"eventbridge nats no params", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS"}}`)}, []string{"sourceNATSParameters"}},
		{"eventbridge nats empty", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":{}}}}`)}, []string{"Subject or Stream"}},
		{"eventbridge nats bad subject", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":{"Subject":"a.>.b"}}}}`)}, []string{"a.>.b"}},
		{"eventbridge nats queue group with stream", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":{"Stream":"S","QueueGroup":"q"}}}}`)}, []string{"QueueGroup"}},
		{"eventbridge nats batch", Trigger{TriggerName: "e", TriggerType: "eventbridge", TriggerConfig: []byte(`{"eventSourceConfig":{"eventSourceType":"NATS","eventSourceParameters":{"sourceNATSParameters":{"Subject":"a"}}},"runOptions":{"batchWindow":{"CountBasedWindow":-1,"TimeBasedWindow":-1}}}`)}, []string{"CountBasedWindow -1", "TimeBasedWindow -1"}},
		{"oss openfc keys", Trigger{TriggerName: "o", TriggerType: "oss", SourceARN: &arn, TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"],"webhookToken":"0123456789abcdef","natsSubject":"minio.>","natsUrl":"nats://h:4222"}`)}, nil},
		{"oss bad arn", Trigger{TriggerName: "o", TriggerType: "oss", SourceARN: ptr("acs:log:x:1:b"), TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"]}`)}, []string{"acs:log:x:1:b"}},
		{"oss token with space", Trigger{TriggerName: "o", TriggerType: "oss", SourceARN: &arn, TriggerConfig: []byte(`{"events":["oss:ObjectCreated:*"],"webhookToken":"0123456789 abcdef"}`)}, []string{"spaces"}},
		{"no type", Trigger{TriggerName: "x", TriggerConfig: []byte(`{}`)}, []string{"triggerType is required"}},
		{"unknown type", Trigger{TriggerName: "x", TriggerType: "kafka", TriggerConfig: []byte(`{}`)}, []string{"kafka"}},
		{"no config", Trigger{TriggerName: "x", TriggerType: "http"}, []string{"triggerConfig"}},
		{"config not object", Trigger{TriggerName: "x", TriggerType: "http", TriggerConfig: []byte(`[]`)}, []string{"triggerConfig"}},
		{"config null", Trigger{TriggerName: "x", TriggerType: "http", TriggerConfig: []byte(`null`)}, []string{"triggerConfig"}},
		{"bad name", Trigger{TriggerName: "a b", TriggerType: "http", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}, []string{"triggerName"}},
		{"bad qualifier", Trigger{TriggerName: "h", TriggerType: "http", Qualifier: "a.b", TriggerConfig: []byte(`{"authType":"anonymous","methods":["GET"]}`)}, []string{"qualifier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTrigger(&tt.tr, cron)
			if tt.words == nil {
				if err != nil {
					t.Errorf("ValidateTrigger(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			wantInvalid(t, "ValidateTrigger("+tt.name+")", err, tt.words...)
		})
	}
}

func TestValidateAlias(t *testing.T) {
	tests := []struct {
		name  string
		a     Alias
		words []string
	}{
		{"valid", Alias{AliasName: "prod", VersionID: "1"}, nil},
		{"canary", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.3}}, nil},
		{"weights sum to one", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.5, "3": 0.5}}, nil},
		{"empty weights", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{}}, nil},
		{"LATEST name", Alias{AliasName: "LATEST", VersionID: "1"}, []string{"aliasName"}},
		{"bad name", Alias{AliasName: "1st", VersionID: "1"}, []string{"aliasName"}},
		{"no version", Alias{AliasName: "prod"}, []string{"versionId"}},
		{"bad version", Alias{AliasName: "prod", VersionID: "v1"}, []string{"versionId"}},
		{"weight over 1", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 1.5}}, []string{"0 to 1"}},
		{"negative weight", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": -0.1}}, []string{"0 to 1"}},
		{"sum over 1", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.6, "3": 0.6}}, []string{"at most 1"}},
		{"weight for main version", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"1": 0.1}}, []string{"main version"}},
		{"weight for non-version", Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"x": 0.1}}, []string{`"x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAlias(&tt.a)
			if tt.words == nil {
				if err != nil {
					t.Errorf("ValidateAlias(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			wantInvalid(t, "ValidateAlias("+tt.name+")", err, tt.words...)
		})
	}
}

func TestJoinErrors(t *testing.T) {
	if err := JoinErrors(nil); err != nil {
		t.Errorf("JoinErrors(nil) = %v, want nil", err)
	}
	err := JoinErrors([]string{"a is bad", "b is bad"})
	wantInvalid(t, "JoinErrors", err, "a is bad; b is bad")
}
