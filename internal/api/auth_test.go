package api_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

func TestAuthentication(t *testing.T) {
	n := testenv.Platform(t, nil)
	mkService(t, n, "svc")
	keyID, secret, acct := n.Creds.AccessKeyID, n.Creds.AccessKeySecret, n.Creds.AccountID
	httpClient := &http.Client{Timeout: 30 * time.Second}

	tests := []struct {
		name       string
		path       string
		prepare    func(r *http.Request) // sets headers and signs
		wantStatus int
		wantCode   string
	}{
		{"valid", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("X-Fc-Account-Id", acct)
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusOK, ""},
		{"go sdk empty account header", prefix + "/services/svc", func(r *http.Request) {
			r.Header["X-Fc-Account-Id"] = []string{""}
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusOK, ""},
		{"python no account header", prefix + "/services/svc", func(r *http.Request) {
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusOK, ""},
		{"unsigned", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		}, http.StatusForbidden, fc.CodeAccessDenied},
		{"garbled authorization", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			r.Header.Set("Authorization", "Bearer xyz")
		}, http.StatusForbidden, fc.CodeAccessDenied},
		{"wrong secret", prefix + "/services/svc", func(r *http.Request) {
			fc.SignRequest(r, keyID, secret+"x", "")
		}, http.StatusForbidden, fc.CodeSignatureNotMatch},
		{"signed other path", prefix + "/services/svc", func(r *http.Request) {
			fc.SignRequest(r, keyID, secret, "")
			r.URL.Path = prefix + "/services/other"
		}, http.StatusForbidden, fc.CodeSignatureNotMatch},
		{"unknown key", prefix + "/services/svc", func(r *http.Request) {
			fc.SignRequest(r, "LTAInobody", secret, "")
		}, http.StatusForbidden, fc.CodeInvalidAccessKeyID},
		{"date 20 minutes old", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(-20*time.Minute).UTC().Format(http.TimeFormat))
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusForbidden, fc.CodeRequestTimeTooSkewed},
		{"date 20 minutes ahead", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(20*time.Minute).UTC().Format(http.TimeFormat))
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusForbidden, fc.CodeRequestTimeTooSkewed},
		{"date 10 minutes old", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(-10*time.Minute).UTC().Format(http.TimeFormat))
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusOK, ""},
		{"missing date", prefix + "/services/svc", func(r *http.Request) {
			fc.SignRequest(r, keyID, secret, "")
			r.Header.Del("Date")
		}, http.StatusBadRequest, fc.CodeMissingRequiredHeader},
		{"unparsable date", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("Date", "yesterday")
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusBadRequest, fc.CodeInvalidArgument},
		{"other account", prefix + "/services/svc", func(r *http.Request) {
			r.Header.Set("X-Fc-Account-Id", "999999")
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusForbidden, fc.CodeAccessDenied},
		{"unknown api path", prefix + "/no-such-thing", func(r *http.Request) {
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusBadRequest, fc.CodePathNotSupported},
		{"unknown method", prefix + "/services", func(r *http.Request) {
			r.Method = "PATCH"
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusBadRequest, fc.CodePathNotSupported},
		{"path outside the api", "/index.html", func(r *http.Request) {}, http.StatusBadRequest, fc.CodePathNotSupported},
		{"root", "/", func(r *http.Request) {}, http.StatusBadRequest, fc.CodePathNotSupported},
		{"other api version", "/2021-04-06/services", func(r *http.Request) {
			fc.SignRequest(r, keyID, secret, "")
		}, http.StatusBadRequest, fc.CodePathNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", n.URL+tt.path, nil)
			must(t, "new request", err)
			tt.prepare(req)
			resp, err := httpClient.Do(req)
			must(t, "GET "+tt.path, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			must(t, "read body", err)
			if tt.wantCode == "" {
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("GET %s (%s) = %d %s, want %d", tt.path, tt.name, resp.StatusCode, body, tt.wantStatus)
				}
				if len(resp.Header.Get("X-Fc-Request-Id")) != 36 {
					t.Errorf("GET %s X-Fc-Request-Id = %q, want a UUID", tt.path, resp.Header.Get("X-Fc-Request-Id"))
				}
				return
			}
			wantErrorBody(t, "GET "+tt.path+" ("+tt.name+")", resp.StatusCode, resp.Header, body, tt.wantStatus, tt.wantCode)
		})
	}

	t.Run("refused writes change nothing", func(t *testing.T) {
		c, err := client.New(client.Options{Endpoint: n.URL, AccountID: acct, AccessKeyID: keyID, AccessKeySecret: "wrong"})
		must(t, "client.New", err)
		_, _, err = c.CreateService(t.Context(), &fc.Service{ServiceName: "intruder"})
		apiError(t, "CreateService(wrong secret)", err, http.StatusForbidden, fc.CodeSignatureNotMatch)
		_, err = c.DeleteService(t.Context(), "svc", "")
		apiError(t, "DeleteService(wrong secret)", err, http.StatusForbidden, fc.CodeSignatureNotMatch)
		list, _, err := n.Client.ListServices(t.Context(), client.ListOptions{})
		must(t, "ListServices", err)
		if len(list.Services) != 1 || list.Services[0].ServiceName != "svc" {
			t.Errorf("ListServices after refused writes = %v, want only svc", list.Services)
		}
	})
}
