package queue_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/client"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/testenv"
)

// deadLetters lists every dead letter of q/task.
func deadLetters(t *testing.T, c *client.Client) []fc.DeadLetter {
	t.Helper()
	l, err := c.ListDeadLetters(t.Context(), client.DeadLetterQuery{Service: "q", Function: "task"})
	if err != nil {
		t.Fatalf("list dead letters: %v", err)
	}
	return l.DeadLetters
}

func TestDeadLetters(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c := n.Client
	zero := int64(0)
	deployTask(t, c, fc.AsyncConfig{MaxAsyncRetryAttempts: &zero})

	first := invokeTask(t, c, "fail", nil)
	second := invokeTask(t, c, "fail", nil)
	var dls []fc.DeadLetter
	testenv.Eventually(t, 60*time.Second, func() error {
		if dls = deadLetters(t, c); len(dls) != 2 {
			return fmt.Errorf("%d dead letters", len(dls))
		}
		return nil
	})
	ids := []string{dls[0].RequestID, dls[1].RequestID}
	slices.Sort(ids)
	want := []string{first, second}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("dead letters are requests %q, want %q", ids, want)
	}
	for _, d := range dls {
		if d.Reason != "RetriesExhausted" || d.Attempts != 1 || d.Payload != "fail" || d.ErrorMessage != "failed on purpose" ||
			d.ServiceName != "q" || d.FunctionName != "task" || d.Qualifier != "LATEST" || d.EnqueuedTime == 0 || d.DeadTime < d.EnqueuedTime {
			t.Errorf("dead letter = %+v", d)
		}
	}
	// Pages of one, then other functions' views are empty.
	p1, err := c.ListDeadLetters(t.Context(), client.DeadLetterQuery{Limit: 1})
	if err != nil || len(p1.DeadLetters) != 1 || p1.NextToken == "" {
		t.Fatalf("first page of 1 = %+v, %v", p1, err)
	}
	p2, err := c.ListDeadLetters(t.Context(), client.DeadLetterQuery{Limit: 1, NextToken: p1.NextToken})
	if err != nil || len(p2.DeadLetters) != 1 || p2.NextToken != "" || p2.DeadLetters[0].ID == p1.DeadLetters[0].ID {
		t.Fatalf("second page of 1 = %+v, %v", p2, err)
	}
	if l, _ := c.ListDeadLetters(t.Context(), client.DeadLetterQuery{Service: "other"}); len(l.DeadLetters) != 0 {
		t.Errorf("another service's view has %d dead letters", len(l.DeadLetters))
	}

	// Redrive the first: it runs again (and, failing again, comes back
	// under its new request ID); the second stays.
	redriven, err := c.RedriveDeadLetters(t.Context(), client.DeadLetterQuery{IDs: []uint64{dls[0].ID}})
	if err != nil || len(redriven) != 1 || redriven[0].RequestID == dls[0].RequestID {
		t.Fatalf("redrive %d = %+v, %v", dls[0].ID, redriven, err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		got := deadLetters(t, c)
		var reqs []string
		for _, d := range got {
			reqs = append(reqs, d.RequestID)
		}
		if len(got) != 2 || !slices.Contains(reqs, redriven[0].RequestID) || !slices.Contains(reqs, dls[1].RequestID) {
			return fmt.Errorf("dead letters after the redrive: %q", reqs)
		}
		return nil
	})
	if _, lines := testenv.Recorded(t, n.URL+"/2016-08-15/proxy/q/task/"); strings.Count(strings.Join(lines, ","), "fail:0") != 3 {
		t.Errorf("the function ran %q, want fail three times (two, and one redriven)", lines)
	}

	_, err = c.RedriveDeadLetters(t.Context(), client.DeadLetterQuery{})
	wantFCError(t, "redrive without a selection", err, http.StatusBadRequest, fc.CodeInvalidArgument)
	_, err = c.PurgeDeadLetters(t.Context(), client.DeadLetterQuery{})
	wantFCError(t, "purge without a selection", err, http.StatusBadRequest, fc.CodeInvalidArgument)
	if got := deadLetters(t, c); len(got) != 2 {
		t.Errorf("a refused purge left %d dead letters, want 2", len(got))
	}
	_, err = c.PurgeDeadLetters(t.Context(), client.DeadLetterQuery{IDs: []uint64{999999}})
	wantFCError(t, "purge an unknown dead letter", err, http.StatusNotFound, "DeadLetterNotFound")
	if n, err := c.PurgeDeadLetters(t.Context(), client.DeadLetterQuery{Service: "q"}); err != nil || n != 2 {
		t.Errorf("purge service q = %d, %v; want 2", n, err)
	}
	if got := deadLetters(t, c); len(got) != 0 {
		t.Errorf("after the purge: %d dead letters", len(got))
	}
}

// An invocation older than maxAsyncEventAgeInSeconds when its turn comes
// is not run: it becomes an Expired dead letter (and a stateful one says
// Expired).
func TestEventAgeExpiry(t *testing.T) {
	testenv.RequireRoot(t)
	n := testenv.Platform(t, nil)
	c := n.Client
	one := int64(1)
	deployTask(t, c, fc.AsyncConfig{MaxAsyncEventAgeInSeconds: &one, StatefulInvocation: true})
	submit(t, c, "too-late", "job_late", http.Header{"X-Fc-Async-Delay": {"2"}})
	submit(t, c, "in-time", "job_in_time", nil)
	late := waitStatus(t, c, "job_late", fc.StatefulExpired)
	if statuses(late) != "Enqueued,Expired" {
		t.Errorf("expired invocation = %+v", late)
	}
	waitStatus(t, c, "job_in_time", fc.StatefulSucceeded)
	dls := deadLetters(t, c)
	if len(dls) != 1 || dls[0].Reason != "Expired" || dls[0].InvocationID != "job_late" || dls[0].Attempts != 0 {
		t.Fatalf("dead letters = %+v, want job_late expired", dls)
	}
	if _, lines := testenv.Recorded(t, n.URL+"/2016-08-15/proxy/q/task/"); slices.Contains(lines, "too-late:0") {
		t.Errorf("the expired invocation ran: %q", lines)
	}
}

func invokeTask(t *testing.T, c *client.Client, event string, h http.Header) string {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Fc-Invocation-Type", "Async")
	r, err := c.Do(t.Context(), client.Request{Method: "POST", Path: taskPath + "/invocations", Body: []byte(event), Header: h}, nil)
	if err != nil || r.Status != http.StatusAccepted {
		t.Fatalf("async invoke %q: %v", event, err)
	}
	return r.RequestID
}
