package store_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/broker"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/seal"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/internal/testenv"
)

// newStore starts a Store on b's bucket, stopped at cleanup.
func newStore(t *testing.T, b *broker.Broker) *store.Store {
	t.Helper()
	box, err := seal.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	blobs := blob.New(blob.Options{Objects: b.Code, Box: box, CacheDir: t.TempDir(), Logger: testenv.Logger(t)})
	s := store.New(store.Options{KV: b.Meta, Box: box, Blobs: blobs, AccountID: "42", Logger: testenv.Logger(t)})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func zip64(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte("x = 1\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func wantCode(t *testing.T, call string, err error, status int, code string) {
	t.Helper()
	e, ok := fc.AsError(err)
	if !ok || e.Status != status || e.Code != code {
		t.Fatalf("%s = %v, want %d %s", call, err, status, code)
	}
}

func TestStoreReadsItsOwnWrites(t *testing.T) {
	s := newStore(t, testenv.NATS(t))
	ctx := t.Context()
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		created, err := s.CreateService(ctx, &fc.Service{ServiceName: name, Description: "v0"})
		if err != nil {
			t.Fatalf("CreateService(%s): %v", name, err)
		}
		// No waiting: the write returns once the local index has it.
		got, err := s.Service(name)
		if err != nil || got.ETag != created.ETag || got.Value.Description != "v0" {
			t.Fatalf("Service(%s) right after create = %v, %v, want ETag %s", name, got, err, created.ETag)
		}
		upd, err := s.UpdateService(ctx, name, &fc.Service{Description: "v1"}, fc.Present{"description": true}, created.ETag)
		if err != nil {
			t.Fatalf("UpdateService(%s): %v", name, err)
		}
		got, err = s.Service(name)
		if err != nil || got.ETag != upd.ETag || got.Value.Description != "v1" {
			t.Fatalf("Service(%s) right after update = %+v, %v, want v1 with ETag %s", name, got.Value, err, upd.ETag)
		}
		if i%2 == 0 {
			if err := s.DeleteService(ctx, name, upd.ETag); err != nil {
				t.Fatalf("DeleteService(%s): %v", name, err)
			}
			_, err = s.Service(name)
			wantCode(t, "Service("+name+") right after delete", err, http.StatusNotFound, fc.CodeServiceNotFound)
		}
	}
	list, next := s.ListServices(store.Page{Limit: 100}, nil)
	if len(list) != 10 || next != "" || list[0].ServiceName != "s01" {
		t.Errorf("ListServices = %d services (first %v) next %q, want the 10 odd ones", len(list), list[0].ServiceName, next)
	}

	f, err := s.CreateFunction(ctx, "s01", &fc.FunctionInput{Function: fc.Function{FunctionName: "f", Runtime: "python3.9", Handler: "h",
		EnvironmentVariables: map[string]string{"K": "V"}}, Code: &fc.Code{ZipFile: zip64(t)}}, "")
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	got, err := s.Function("s01", "f")
	if err != nil || got.ETag != f.ETag || got.Value.EnvironmentVariables["K"] != "V" || got.Value.CodeSHA256 == "" {
		t.Fatalf("Function right after create = %+v, %v", got.Value, err)
	}
	if err := s.DeleteFunction(ctx, "s01", "f", ""); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err = s.Function("s01", "f")
	wantCode(t, "Function right after delete", err, http.StatusNotFound, fc.CodeFunctionNotFound)
}

func TestStoreTwoNodesShareOneBucket(t *testing.T) {
	b := testenv.NATS(t)
	s1 := newStore(t, b)
	ctx := t.Context()
	// Data written before a node starts is loaded at start, deletes included.
	if _, err := s1.CreateService(ctx, &fc.Service{ServiceName: "early"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.CreateService(ctx, &fc.Service{ServiceName: "dropped"}); err != nil {
		t.Fatal(err)
	}
	if err := s1.DeleteService(ctx, "dropped", ""); err != nil {
		t.Fatal(err)
	}
	s2 := newStore(t, b)
	if _, err := s2.Service("early"); err != nil {
		t.Errorf("second node Service(early) after start: %v", err)
	}
	_, err := s2.Service("dropped")
	wantCode(t, "second node Service(dropped)", err, http.StatusNotFound, fc.CodeServiceNotFound)

	created, err := s1.CreateService(ctx, &fc.Service{ServiceName: "shared", Description: "one"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		got, err := s2.Service("shared")
		if err != nil {
			return err
		}
		if got.ETag != created.ETag {
			return fmt.Errorf("ETag %s, want %s", got.ETag, created.ETag)
		}
		return nil
	})
	// The second node writes with the first node's ETag; the first sees it.
	upd, err := s2.UpdateService(ctx, "shared", &fc.Service{Description: "two"}, fc.Present{"description": true}, created.ETag)
	if err != nil {
		t.Fatalf("second node UpdateService with the first node's ETag: %v", err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		got, err := s1.Service("shared")
		if err != nil {
			return err
		}
		if got.ETag != upd.ETag || got.Value.Description != "two" {
			return fmt.Errorf("first node sees %q %s, want two %s", got.Value.Description, got.ETag, upd.ETag)
		}
		return nil
	})
	// A stale ETag loses on either node.
	_, err = s1.UpdateService(ctx, "shared", &fc.Service{Description: "x"}, fc.Present{"description": true}, created.ETag)
	wantCode(t, "first node UpdateService with a stale ETag", err, http.StatusPreconditionFailed, fc.CodePreconditionFailed)

	// Concurrent unconditional writes from both nodes all land.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			_, err := s.UpdateService(ctx, "shared", &fc.Service{Description: fmt.Sprint(i)}, fc.Present{"description": true}, "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent UpdateService from two nodes: %v", err)
		}
	}

	// Both nodes converge on the last write.
	last, err := s2.Service("shared")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		got, err := s1.Service("shared")
		if err != nil {
			return err
		}
		if got.ETag != last.ETag {
			// s2 may itself be behind s1; compare both ways.
			if l, _ := s2.Service("shared"); l.ETag != got.ETag {
				return fmt.Errorf("nodes disagree: %s and %s", got.ETag, l.ETag)
			}
		}
		return nil
	})

	if err := s1.DeleteService(ctx, "shared", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := s2.Service("shared"); err == nil {
			return errors.New("second node still has service shared")
		}
		return nil
	})
	// A name freed on one node can be taken again from the other.
	if _, err := s2.CreateService(ctx, &fc.Service{ServiceName: "shared"}); err != nil {
		t.Errorf("second node CreateService(shared) after delete: %v", err)
	}
}

// TestStoreDeleteWithoutIfMatchRacingUpdate: a delete without If-Match is
// unconditional in FC, so it must not fail because an update of the same
// resource landed between the store's read and its delete.
func TestStoreDeleteWithoutIfMatchRacingUpdate(t *testing.T) {
	s := newStore(t, testenv.NATS(t))
	ctx := t.Context()
	for i := range 50 {
		name := fmt.Sprintf("r%d", i)
		if _, err := s.CreateService(ctx, &fc.Service{ServiceName: name}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			// May fail with ServiceNotFound if the delete wins; that is fine.
			s.UpdateService(ctx, name, &fc.Service{Description: "x"}, fc.Present{"description": true}, "")
		})
		err := s.DeleteService(ctx, name, "")
		wg.Wait()
		if err != nil {
			t.Fatalf("DeleteService(%s) without If-Match racing an update: %v", name, err)
		}
	}
}
