package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/seal"
)

// Options configures a Store.
type Options struct {
	KV        jetstream.KeyValue // the openfc_meta bucket
	Box       *seal.Box          // seals secrets before they are stored
	Blobs     *blob.Store        // code packages
	AccountID string             // the account that owns this node's resources
	Region    string             // used in ARNs; "" means "local"
	// ValidateCron checks timer trigger expressions; nil skips the check.
	ValidateCron fc.CronValidator
	// RuntimeAvailable reports why a runtime cannot run on this node (its
	// interpreter is missing), or nil; nil skips the check.
	RuntimeAvailable func(runtime string) error
	// OnChange, if set, is called (from the watch goroutine, so it must not
	// block) with each key that changed, on every node.
	OnChange func(key string)
	Logger   *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store is the metadata store; see the package doc.
type Store struct {
	kv        jetstream.KeyValue
	box       *seal.Box
	blobs     *blob.Store
	accountID string
	region    string
	cron      fc.CronValidator
	runtimeOK func(string) error
	onChange  func(string)
	logger    *slog.Logger
	now       func() time.Time
	idx       *index

	// mu serialises version and layer publishing, whose IDs come from
	// counters that must never hand out the same number twice.
	mu sync.Mutex

	watcher jetstream.KeyWatcher
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Store; call Start before using it.
func New(opts Options) *Store {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	region := opts.Region
	if region == "" {
		region = "local"
	}
	return &Store{kv: opts.KV, box: opts.Box, blobs: opts.Blobs, accountID: opts.AccountID, region: region,
		cron: opts.ValidateCron, runtimeOK: opts.RuntimeAvailable, onChange: opts.OnChange, logger: l.With("component", "store"), now: now,
		idx: newIndex(), done: make(chan struct{})}
}

// Start loads the whole bucket into the index and keeps watching it. It
// returns once the index holds everything stored before the call.
func (s *Store) Start(ctx context.Context) error {
	// The watch lives until Shutdown, not as long as ctx, which only bounds
	// the initial load.
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	// No IgnoreDeletes: it filters deletes for the watch's whole life, not
	// only in the initial snapshot, and the index must see every delete
	// (writers wait for it). A delete marker in the snapshot removes
	// nothing and only advances the applied revision.
	w, err := s.kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("watch %s: %w", s.kv.Bucket(), err)
	}
	s.watcher = w
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("store: watch closed during initial load")
			}
			if e == nil { // end of the initial snapshot
				go s.follow()
				return nil
			}
			s.apply(e)
		case <-ctx.Done():
			cancel()
			return fmt.Errorf("initial load of metadata: %w", ctx.Err())
		}
	}
}

func (s *Store) follow() {
	defer close(s.done)
	for e := range s.watcher.Updates() {
		if e != nil {
			s.apply(e)
		}
	}
}

// Shutdown stops the watch.
func (s *Store) Shutdown(ctx context.Context) error {
	if s.watcher == nil {
		return nil
	}
	err := s.watcher.Stop()
	s.cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop metadata watch: %w", err)
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) apply(e jetstream.KeyValueEntry) {
	key := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		s.idx.remove(key, e.Revision())
	} else {
		v, err := s.decode(key, e.Value())
		if err != nil {
			// A value this node cannot read (written by a newer version,
			// or sealed under another master key) is skipped, not fatal.
			s.logger.Error("metadata value skipped", "key", key, "err", err)
			s.idx.skip(e.Revision())
			return
		}
		s.idx.put(key, entry{rev: e.Revision(), val: v})
	}
	if s.onChange != nil {
		s.onChange(key)
	}
}

// Key prefixes of the bucket. Names never contain '.', so the parts of a
// key are separated by dots; domain names and access key IDs, which may,
// only ever come last.
const (
	pService  = "svc."
	pFunction = "fn."
	pTrigger  = "trg."
	pVersion  = "ver."
	pAlias    = "alias."
	pDomain   = "domain."
	pProv     = "prov."
	pOnDemand = "ondemand."
	pAsync    = "asynccfg."
	pLayer    = "layer."
	pKey      = "akey."
	pSeq      = "seq."
	keyAcct   = "account"
)

func (s *Store) decode(key string, data []byte) (any, error) {
	var v any
	switch {
	case strings.HasPrefix(key, pService):
		v = new(fc.Service)
	case strings.HasPrefix(key, pFunction):
		r := new(FunctionRecord)
		if err := json.Unmarshal(data, r); err != nil {
			return nil, err
		}
		if err := s.openEnv(r); err != nil {
			return nil, err
		}
		return r, nil
	case strings.HasPrefix(key, pTrigger):
		v = new(fc.Trigger)
	case strings.HasPrefix(key, pVersion):
		r := new(versionRecord)
		if err := json.Unmarshal(data, r); err != nil {
			return nil, err
		}
		for i := range r.Functions {
			if err := s.openEnv(&r.Functions[i]); err != nil {
				return nil, err
			}
		}
		return r, nil
	case strings.HasPrefix(key, pAlias):
		v = new(fc.Alias)
	case strings.HasPrefix(key, pDomain):
		v = new(domainRecord)
	case strings.HasPrefix(key, pProv):
		v = new(fc.ProvisionConfig)
	case strings.HasPrefix(key, pOnDemand):
		v = new(fc.OnDemandConfig)
	case strings.HasPrefix(key, pAsync):
		v = new(fc.AsyncConfig)
	case strings.HasPrefix(key, pLayer):
		v = new(layerRecord)
	case strings.HasPrefix(key, pLimits):
		v = new(fc.Limits)
	case strings.HasPrefix(key, pKey):
		r := new(keyRecord)
		if err := json.Unmarshal(data, r); err != nil {
			return nil, err
		}
		secret, err := s.box.Open(r.SecretSealed, []byte(key))
		if err != nil {
			return nil, fmt.Errorf("open access key secret: %w", err)
		}
		r.secret = string(secret)
		return r, nil
	case strings.HasPrefix(key, pSeq):
		v = new(uint64)
	case key == keyAcct:
		v = new(Account)
	default:
		return nil, fmt.Errorf("unknown key prefix")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// ETag derives FC's 32-hex-character ETag from a key and the KV revision
// that wrote it, so every modification changes it.
func ETag(key string, rev uint64) string {
	sum := md5.Sum([]byte(key + "#" + strconv.FormatUint(rev, 10)))
	return hex.EncodeToString(sum[:])
}

// checkIfMatch returns 412 when ifMatch is set and differs from the ETag of
// the current revision. FC sends the ETag unquoted; a quoted one is
// tolerated.
func checkIfMatch(key string, rev uint64, ifMatch string) error {
	ifMatch = strings.Trim(strings.TrimSpace(ifMatch), `"`)
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	if cur := ETag(key, rev); ifMatch != cur {
		return fc.PreconditionFailed(cur)
	}
	return nil
}

func (s *Store) timestamp() string { return s.now().UTC().Format(time.RFC3339) }

// create writes a new key and waits for the index to see it. It returns
// errExists when the key is taken.
func (s *Store) create(ctx context.Context, key string, v any) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	rev, err := s.kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, errExists
	}
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, err)
	}
	return rev, s.idx.waitRev(ctx, rev)
}

// update replaces key if it is still at revision rev.
func (s *Store) update(ctx context.Context, key string, v any, rev uint64) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	newRev, err := s.kv.Update(ctx, key, data, rev)
	if isRevisionMismatch(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", key, err)
	}
	return newRev, s.idx.waitRev(ctx, newRev)
}

// remove deletes key if it is still at revision rev.
func (s *Store) remove(ctx context.Context, key string, rev uint64) error {
	err := s.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	if isRevisionMismatch(err) {
		return errConflict
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return s.idx.waitGone(ctx, key, rev)
}

func isRevisionMismatch(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

var (
	errExists   = errors.New("store: already exists")
	errConflict = errors.New("store: changed concurrently")
)

// conflict is what a client sees when its write lost a race with another
// write to the same resource.
func conflict(key string) error {
	return fc.Errorf(412, fc.CodePreconditionFailed, "the resource was changed by another request at the same time; get it again and retry")
}

// lookup returns the typed value at key.
func lookup[T any](s *Store, key string) (*T, uint64, bool) {
	e, ok := s.idx.get(key)
	if !ok {
		return nil, 0, false
	}
	v, ok := e.val.(*T)
	return v, e.rev, ok
}

// removeKey deletes key, which the caller read at revision rev. With
// If-Match a concurrent change is a 412; without it the delete is retried
// on the newer revision (the caller's checks were made on a snapshot, as
// every delete's are), and a key another request deleted meanwhile counts
// as deleted.
func (s *Store) removeKey(ctx context.Context, key string, rev uint64, ifMatch string) error {
	for {
		err := s.remove(ctx, key, rev)
		if !errors.Is(err, errConflict) {
			return err
		}
		if ifMatch != "" {
			return conflict(key)
		}
		if err := s.idx.waitFor(ctx, func() bool { e, ok := s.idx.m[key]; return !ok || e.rev != rev }); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		e, ok := s.idx.get(key)
		if !ok {
			return nil
		}
		rev = e.rev
	}
}
