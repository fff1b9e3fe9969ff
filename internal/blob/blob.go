package blob

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/openfc/openfc/internal/seal"
)

// ErrNotFound is returned when no package has the given checksum.
var ErrNotFound = errors.New("blob: not found")

var crcTable = crc64.MakeTable(crc64.ECMA)

// Ref identifies a stored package.
type Ref struct {
	SHA256 string // hex, the object's name
	Size   int64  // bytes of the zip
	CRC64  uint64 // CRC-64/XZ (Go's crc64.ECMA) of the zip, FC's codeChecksum
}

// Checksum returns FC's codeChecksum: the CRC-64 as a decimal string.
func (r Ref) Checksum() string { return strconv.FormatUint(r.CRC64, 10) }

// Options configures a Store.
type Options struct {
	Objects  jetstream.ObjectStore // where sealed packages live
	Box      *seal.Box             // encryption at rest
	CacheDir string                // local unpack cache; "" disables Unpack
	Limits   Limits
	Logger   *slog.Logger
}

// Store keeps code packages.
type Store struct {
	objects  jetstream.ObjectStore
	box      *seal.Box
	cacheDir string
	limits   Limits
	logger   *slog.Logger

	// mu guards unpacking, a lock per package, so that each package is
	// unpacked once per node while different ones unpack in parallel.
	mu      sync.Mutex
	unpacks map[string]*sync.Mutex
}

// New returns a Store.
func New(opts Options) *Store {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Store{objects: opts.Objects, box: opts.Box, cacheDir: opts.CacheDir, limits: opts.Limits,
		logger: l.With("component", "blob")}
}

// Put checks zipData (see Check) and stores it unless a package with the
// same content already exists.
func (s *Store) Put(ctx context.Context, zipData []byte) (Ref, error) {
	if err := Check(zipData, s.limits); err != nil {
		return Ref{}, err
	}
	sum := sha256.Sum256(zipData)
	ref := Ref{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(zipData)), CRC64: crc64.Checksum(zipData, crcTable)}
	if _, err := s.objects.GetInfo(ctx, ref.SHA256); err == nil {
		return ref, nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return Ref{}, fmt.Errorf("look up package %s: %w", ref.SHA256, err)
	}
	sealed, err := s.box.Seal(zipData, []byte("code/"+ref.SHA256))
	if err != nil {
		return Ref{}, fmt.Errorf("seal package: %w", err)
	}
	if _, err := s.objects.PutBytes(ctx, ref.SHA256, sealed); err != nil {
		return Ref{}, fmt.Errorf("store package %s: %w", ref.SHA256, err)
	}
	return ref, nil
}

// Get returns the zip stored under sha.
func (s *Store) Get(ctx context.Context, sha string) ([]byte, error) {
	sealed, err := s.objects.GetBytes(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get package %s: %w", sha, err)
	}
	plain, err := s.box.Open(sealed, []byte("code/"+sha))
	if err != nil {
		return nil, fmt.Errorf("open package %s: %w", sha, err)
	}
	return plain, nil
}

// Unpack returns a local folder holding the unpacked package sha, unpacking
// it on first use. The folder is shared and must be treated as read-only.
func (s *Store) Unpack(ctx context.Context, sha string) (string, error) {
	if s.cacheDir == "" {
		return "", errors.New("blob: no cache folder configured")
	}
	dir := filepath.Join(s.cacheDir, sha)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil // the warm path takes no lock
	}
	s.mu.Lock()
	if s.unpacks == nil {
		s.unpacks = map[string]*sync.Mutex{}
	}
	l := s.unpacks[sha]
	if l == nil {
		l = &sync.Mutex{}
		s.unpacks[sha] = l
	}
	s.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	data, err := s.Get(ctx, sha)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(s.cacheDir, ".unpack-")
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", sha, err)
	}
	if err := extract(data, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpack %s: %w", sha, err)
	}
	// Rename makes the folder appear complete or not at all, so a crash
	// mid-unpack never leaves a half folder under the final name.
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("unpack %s: %w", sha, err)
	}
	return dir, nil
}

// extract unpacks a zip that passed Check into dir.
func extract(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		case mode&fs.ModeSymlink != 0:
			target, err := symlinkTarget(f)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		perm := mode.Perm() | 0o444 // readable by the sandbox user
		if perm&0o111 != 0 {
			perm |= 0o111
		}
		if err := writeEntry(f, dst, perm); err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(f *zip.File, dst string, perm fs.FileMode) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
