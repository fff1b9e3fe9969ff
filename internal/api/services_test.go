package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func TestServiceCRUDWireForm(t *testing.T) {
	n := testenv.Platform(t, nil)

	status, h, body := call(t, n, "POST", prefix+"/services", []byte(`{"serviceName":"demo","description":"hello"}`), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateService status = %d (%s), want 200", status, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("CreateService Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	etag := h.Get("ETag")
	if !etagRE.MatchString(etag) {
		t.Errorf("CreateService ETag = %q, want 32 hex characters", etag)
	}
	if _, err := uuid.Parse(h.Get("X-Fc-Request-Id")); err != nil || len(h.Get("X-Fc-Request-Id")) != 36 {
		t.Errorf("CreateService X-Fc-Request-Id = %q, want a 36-character UUID", h.Get("X-Fc-Request-Id"))
	}
	m := rawJSON(t, body)
	for _, k := range []string{"serviceName", "serviceId", "description", "role", "logConfig", "vpcConfig", "internetAccess",
		"nasConfig", "tracingConfig", "createdTime", "lastModifiedTime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("CreateService body lacks %q: %s", k, body)
		}
	}
	want := map[string]string{
		"serviceName": `"demo"`, "description": `"hello"`, "role": `""`, "internetAccess": `true`,
		"tracingConfig": `{"type":null,"params":null}`,
	}
	for k, v := range want {
		if got := compact(m[k]); got != v {
			t.Errorf("CreateService %s = %s, want %s", k, got, v)
		}
	}
	var created fc.Service
	must(t, "decode", json.Unmarshal(body, &created))
	if _, err := uuid.Parse(created.ServiceID); err != nil {
		t.Errorf("serviceId = %q, want a UUID", created.ServiceID)
	}
	if !strings.HasSuffix(created.CreatedTime, "Z") || len(created.CreatedTime) != len("2020-04-03T05:57:28Z") {
		t.Errorf("createdTime = %q, want RFC 3339 UTC seconds", created.CreatedTime)
	}

	got, r, err := n.Client.GetService(t.Context(), "demo", "")
	must(t, "GetService(demo)", err)
	if r.ETag != etag {
		t.Errorf("GetService(demo) ETag = %q, want %q (unchanged)", r.ETag, etag)
	}
	if diff := cmp.Diff(&created, got); diff != "" {
		t.Errorf("GetService(demo) mismatch (-created +got):\n%s", diff)
	}
	got, _, err = n.Client.GetService(t.Context(), "demo", "LATEST")
	must(t, "GetService(demo.LATEST)", err)
	if diff := cmp.Diff(&created, got); diff != "" {
		t.Errorf("GetService(demo.LATEST) mismatch (-created +got):\n%s", diff)
	}

	t.Run("duplicate", func(t *testing.T) {
		_, _, err := n.Client.CreateService(t.Context(), &fc.Service{ServiceName: "demo"})
		apiError(t, "CreateService(demo) again", err, http.StatusConflict, fc.CodeServiceAlreadyExists)
	})
	t.Run("not found", func(t *testing.T) {
		status, h, body := call(t, n, "GET", prefix+"/services/nope", nil, nil)
		wantErrorBody(t, "GetService(nope)", status, h, body, http.StatusNotFound, fc.CodeServiceNotFound)
		_, _, err := n.Client.UpdateService(t.Context(), "nope", map[string]any{"description": "x"}, "")
		apiError(t, "UpdateService(nope)", err, http.StatusNotFound, fc.CodeServiceNotFound)
		_, err = n.Client.DeleteService(t.Context(), "nope", "")
		apiError(t, "DeleteService(nope)", err, http.StatusNotFound, fc.CodeServiceNotFound)
		_, _, err = n.Client.GetService(t.Context(), "bad.name.x", "")
		apiError(t, "GetService(bad.name.x)", err, http.StatusNotFound, fc.CodeServiceNotFound)
	})
	t.Run("delete", func(t *testing.T) {
		mkService(t, n, "gone")
		status, h, body := call(t, n, "DELETE", prefix+"/services/gone", nil, nil)
		if status != http.StatusNoContent || len(body) != 0 {
			t.Errorf("DeleteService(gone) = %d %q, want 204 and no body", status, body)
		}
		if ct := h.Get("Content-Type"); ct != "" {
			t.Errorf("DeleteService(gone) Content-Type = %q, want none on an empty body", ct)
		}
		if len(h.Get("X-Fc-Request-Id")) != 36 {
			t.Errorf("DeleteService(gone) X-Fc-Request-Id = %q, want a UUID", h.Get("X-Fc-Request-Id"))
		}
		_, _, err := n.Client.GetService(t.Context(), "gone", "")
		apiError(t, "GetService(gone) after delete", err, http.StatusNotFound, fc.CodeServiceNotFound)
		// The name is free again.
		mkService(t, n, "gone")
	})
	t.Run("not empty", func(t *testing.T) {
		mkService(t, n, "full")
		mkFunction(t, n, "full", "f", fc.Function{}, defaultZip(t))
		_, err := n.Client.DeleteService(t.Context(), "full", "")
		apiError(t, "DeleteService(full) with a function", err, http.StatusBadRequest, fc.CodeServiceNotEmpty)
		if _, _, err := n.Client.GetService(t.Context(), "full", ""); err != nil {
			t.Errorf("GetService(full) after refused delete: %v", err)
		}
		_, err = n.Client.DeleteFunction(t.Context(), "full", "f", "")
		must(t, "DeleteFunction(full, f)", err)
		_, err = n.Client.DeleteService(t.Context(), "full", "")
		must(t, "DeleteService(full) once empty", err)
	})
}

func TestServicePartialUpdate(t *testing.T) {
	n := testenv.Platform(t, nil)
	status, _, body := call(t, n, "POST", prefix+"/services", []byte(`{"serviceName":"s","description":"d","role":"acs:ram::1:role/r",
		"internetAccess":false,"logConfig":{"project":"p","logstore":"l"},
		"tracingConfig":{"type":"Jaeger","params":{"endpoint":"http://jaeger"}}}`), nil)
	if status != http.StatusOK {
		t.Fatalf("CreateService = %d %s", status, body)
	}
	var orig fc.Service
	must(t, "decode", json.Unmarshal(body, &orig))

	tests := []struct {
		name   string
		body   string
		change func(*fc.Service)
	}{
		{"empty object", `{}`, func(*fc.Service) {}},
		{"go sdk all null", `{"serviceName":null,"description":null,"role":null,"logConfig":null,"vpcConfig":null,"internetAccess":null,"nasConfig":null,"tracingConfig":null}`, func(*fc.Service) {}},
		{"only role", `{"role":"acs:ram::1:role/q"}`, func(s *fc.Service) { s.Role = "acs:ram::1:role/q" }},
		{"pascal case key", `{"Description":"upper"}`, func(s *fc.Service) { s.Description = "upper" }},
		{"empty description is a value", `{"description":""}`, func(s *fc.Service) { s.Description = "" }},
		{"false stays false", `{"description":"x"}`, func(s *fc.Service) { s.Description = "x" }},
		{"nested object replaced", `{"logConfig":{"project":"q"}}`, func(s *fc.Service) { s.LogConfig = &fc.LogConfig{Project: "q"} }},
		{"name and id ignored", `{"serviceName":"other","serviceId":"x","createdTime":"1999-01-01T00:00:00Z"}`, func(*fc.Service) {}},
	}
	cur := orig
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := call(t, n, "PUT", prefix+"/services/s", []byte(tt.body), nil)
			if status != http.StatusOK {
				t.Fatalf("UpdateService(%s) = %d %s, want 200", tt.body, status, body)
			}
			if !etagRE.MatchString(h.Get("ETag")) {
				t.Errorf("UpdateService ETag = %q, want 32 hex", h.Get("ETag"))
			}
			var got fc.Service
			must(t, "decode", json.Unmarshal(body, &got))
			tt.change(&cur)
			if diff := cmp.Diff(cur, got, ignoreTimes); diff != "" {
				t.Errorf("UpdateService(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
			fetched, _, err := n.Client.GetService(t.Context(), "s", "")
			must(t, "GetService(s)", err)
			if diff := cmp.Diff(got, *fetched); diff != "" {
				t.Errorf("GetService after UpdateService(%s) mismatch (-update +get):\n%s", tt.body, diff)
			}
		})
	}

	t.Run("tracing cleared", func(t *testing.T) {
		status, _, body := call(t, n, "PUT", prefix+"/services/s", []byte(`{"tracingConfig":{}}`), nil)
		if status != http.StatusOK {
			t.Fatalf("UpdateService(tracingConfig {}) = %d %s", status, body)
		}
		_, _, body = call(t, n, "GET", prefix+"/services/s", nil, nil)
		if got := compact(rawJSON(t, body)["tracingConfig"]); got != `{"type":null,"params":null}` {
			t.Errorf("GetService tracingConfig = %s, want {\"type\":null,\"params\":null}", got)
		}
		if got := compact(rawJSON(t, body)["internetAccess"]); got != "false" {
			t.Errorf("GetService internetAccess = %s, want false (never sent again)", got)
		}
	})
}

func TestServiceETag(t *testing.T) {
	n := testenv.Platform(t, nil)
	_, r, err := n.Client.CreateService(t.Context(), &fc.Service{ServiceName: "s", Description: "v0"})
	must(t, "CreateService", err)
	e0 := r.ETag
	seen := map[string]bool{e0: true}
	etag := e0
	for i := range 3 {
		_, r, err := n.Client.UpdateService(t.Context(), "s", map[string]any{"description": "v" + string(rune('1'+i))}, etag)
		must(t, "UpdateService with current If-Match", err)
		if !etagRE.MatchString(r.ETag) || seen[r.ETag] {
			t.Fatalf("UpdateService ETag = %q, want a new 32-hex ETag (seen %v)", r.ETag, seen)
		}
		seen[r.ETag] = true
		etag = r.ETag
	}
	// The same content written again still gets a new ETag.
	_, r, err = n.Client.UpdateService(t.Context(), "s", map[string]any{"description": "v3"}, "")
	must(t, "UpdateService without change", err)
	if seen[r.ETag] {
		t.Errorf("UpdateService with identical content kept ETag %q, want a new one", r.ETag)
	}
	etag = r.ETag

	t.Run("stale if-match", func(t *testing.T) {
		_, _, err := n.Client.UpdateService(t.Context(), "s", map[string]any{"description": "lost"}, e0)
		apiError(t, "UpdateService(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
		_, err = n.Client.DeleteService(t.Context(), "s", e0)
		apiError(t, "DeleteService(stale If-Match)", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)
		got, r, err := n.Client.GetService(t.Context(), "s", "")
		must(t, "GetService", err)
		if got.Description != "v3" || r.ETag != etag {
			t.Errorf("GetService after 412s = %q %s, want v3 %s (unchanged)", got.Description, r.ETag, etag)
		}
	})
	t.Run("quoted if-match", func(t *testing.T) {
		_, r, err := n.Client.UpdateService(t.Context(), "s", map[string]any{"description": "quoted"}, `"`+etag+`"`)
		must(t, "UpdateService(quoted If-Match)", err)
		etag = r.ETag
	})
	t.Run("delete with if-match", func(t *testing.T) {
		_, err := n.Client.DeleteService(t.Context(), "s", etag)
		must(t, "DeleteService(current If-Match)", err)
	})
}

func TestServiceBadInputChangesNothing(t *testing.T) {
	n := testenv.Platform(t, nil)
	tests := []struct {
		name  string
		body  string
		words []string
	}{
		{"malformed json", `{"serviceName":"a"`, []string{"JSON"}},
		{"not an object", `["a"]`, []string{"object"}},
		{"wrong type", `{"serviceName":"a","description":5}`, []string{"description"}},
		{"wrong nested type", `{"serviceName":"a","nasConfig":{"userId":"root"}}`, []string{"userId"}},
		{"no name", `{"description":"x"}`, []string{"serviceName"}},
		{"digit first", `{"serviceName":"1a"}`, []string{"1a"}},
		{"dash first", `{"serviceName":"-a"}`, []string{"-a"}},
		{"dot", `{"serviceName":"a.b"}`, []string{"a.b"}},
		{"space", `{"serviceName":"a b"}`, []string{"a b"}},
		{"too long", `{"serviceName":"` + strings.Repeat("a", 129) + `"}`, []string{"serviceName"}},
		{"bad tracing", `{"serviceName":"a","tracingConfig":{"type":"Zipkin"}}`, []string{"Zipkin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := call(t, n, "POST", prefix+"/services", []byte(tt.body), nil)
			wantErrorBody(t, "CreateService("+tt.body+")", status, h, body, http.StatusBadRequest, fc.CodeInvalidArgument)
			msg := string(body)
			for _, w := range tt.words {
				if !strings.Contains(msg, w) {
					t.Errorf("CreateService(%s) error %s does not mention %q", tt.body, msg, w)
				}
			}
		})
	}
	list, _, err := n.Client.ListServices(t.Context(), client.ListOptions{})
	must(t, "ListServices", err)
	if len(list.Services) != 0 {
		t.Errorf("ListServices after bad creates = %d services, want 0", len(list.Services))
	}

	_, r, err := n.Client.CreateService(t.Context(), &fc.Service{ServiceName: "keep", Description: "orig"})
	must(t, "CreateService(keep)", err)
	for _, body := range []string{`{"description":`, `{"description":7}`, `{"tracingConfig":{"type":"x"}}`, `{"internetAccess":"no"}`} {
		status, h, resp := call(t, n, "PUT", prefix+"/services/keep", []byte(body), nil)
		wantErrorBody(t, "UpdateService("+body+")", status, h, resp, http.StatusBadRequest, fc.CodeInvalidArgument)
	}
	got, r2, err := n.Client.GetService(t.Context(), "keep", "")
	must(t, "GetService(keep)", err)
	if got.Description != "orig" || r2.ETag != r.ETag {
		t.Errorf("GetService(keep) after bad updates = %q %s, want orig %s", got.Description, r2.ETag, r.ETag)
	}
}
