package store_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// An async config may name only destinations the queue can deliver to:
// FC's MNS and EventBridge ARNs were accepted before, and every record sent
// to them was dropped when the invocation ended.
func TestStoreAsyncConfigDestinations(t *testing.T) {
	s := newStore(t, testenv.NATS(t))
	ctx := t.Context()
	if _, err := s.CreateService(ctx, &fc.Service{ServiceName: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFunction(ctx, "s", &fc.FunctionInput{Function: fc.Function{FunctionName: "f", Runtime: "python3.9", Handler: "h"},
		Code: &fc.Code{ZipFile: zip64(t)}}, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dest string
		problem    string // "" when accepted
	}{
		{"function", "acs:fc:cn-hangzhou:42:services/s.LATEST/functions/f", ""},
		{"function without qualifier", "acs:fc:local:42:services/s/functions/f", ""},
		{"nats subject", "nats:results.failed", ""},
		{"mns queue", "acs:mns:cn-hangzhou:42:/queues/q/messages", "is not supported: openfc cannot deliver to MNS"},
		{"mns topic", "acs:mns:cn-hangzhou:42:/topics/t/messages", "is not supported: openfc cannot deliver to MNS"},
		{"eventbridge", "acs:eventbridge:cn-hangzhou:42:eventbus/default", "is not supported: openfc cannot deliver to EventBridge"},
		{"function without name", "acs:fc:local:42:services/s.LATEST/functions/", "is not a destination openfc can deliver to"},
		{"no function", "acs:fc:local:42:services/s.LATEST", "is not a destination openfc can deliver to"},
		{"other scheme", "arn:aws:lambda:us-east-1:42:function:f", "is not a destination openfc can deliver to"},
		{"empty nats subject", "nats:", "is not a NATS subject"},
		{"nats wildcard", "nats:results.>", "is not a NATS subject"},
		{"nats empty token", "nats:results..failed", "is not a NATS subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, which := range []string{"onSuccess", "onFailure"} {
				d := &fc.DestinationConfig{}
				if which == "onSuccess" {
					d.OnSuccess = &fc.Destination{Destination: tt.dest}
				} else {
					d.OnFailure = &fc.Destination{Destination: tt.dest}
				}
				_, err := s.PutAsyncConfig(ctx, "s", "", "f", &fc.AsyncConfig{DestinationConfig: d})
				if tt.problem == "" {
					if err != nil {
						t.Errorf("PutAsyncConfig(%s %q) = %v, want accepted", which, tt.dest, err)
					}
					continue
				}
				e, ok := fc.AsError(err)
				if !ok || e.Status != http.StatusBadRequest || e.Code != fc.CodeInvalidArgument {
					t.Fatalf("PutAsyncConfig(%s %q) = %v, want 400 InvalidArgument", which, tt.dest, err)
				}
				// The message names the field, the problem and what is
				// supported.
				for _, want := range []string{"destinationConfig." + which + ".destination", tt.problem, "acs:fc:<region>:<accountId>:services/", "nats:<subject>"} {
					if !strings.Contains(e.Message, want) {
						t.Errorf("PutAsyncConfig(%s %q) message %q does not say %q", which, tt.dest, e.Message, want)
					}
				}
			}
		})
	}
}
