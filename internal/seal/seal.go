package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeySize is the size of the master key and of data keys in bytes.
const KeySize = 32

// format version of a sealed value; bumped if the layout ever changes.
const version = 1

// ErrOpen is returned by Open when a sealed value is corrupt, truncated or
// was sealed under another master key.
var ErrOpen = errors.New("seal: cannot decrypt: wrong master key or corrupt data")

// Box seals and opens values under one master key.
type Box struct {
	master cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(masterKey []byte) (*Box, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &Box{master: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext. The associated data binds the value to where it
// is stored (a key name), so a sealed value copied elsewhere fails to open.
// Layout: version | nonce+wrapped data key | nonce | ciphertext+tag.
func (b *Box) Seal(plaintext, associated []byte) ([]byte, error) {
	dataKey := make([]byte, KeySize)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	dk, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	ns := b.master.NonceSize()
	out := make([]byte, 1, 1+ns+KeySize+b.master.Overhead()+ns+len(plaintext)+dk.Overhead())
	out[0] = version
	out = appendNonce(out, ns)
	out = b.master.Seal(out, out[1:1+ns], dataKey, associated)
	start := len(out)
	out = appendNonce(out, ns)
	out = dk.Seal(out, out[start:start+ns], plaintext, associated)
	return out, nil
}

func appendNonce(b []byte, n int) []byte {
	b = append(b, make([]byte, n)...)
	// crypto/rand.Read never fails on Linux (it panics instead of returning
	// an error since Go 1.24), so the error is not checked.
	_, _ = rand.Read(b[len(b)-n:])
	return b
}

// Open decrypts a value made by Seal with the same associated data.
func (b *Box) Open(sealed, associated []byte) ([]byte, error) {
	ns := b.master.NonceSize()
	wrapped := ns + KeySize + b.master.Overhead()
	if len(sealed) < 1+wrapped+ns || sealed[0] != version {
		return nil, ErrOpen
	}
	dataKey, err := b.master.Open(nil, sealed[1:1+ns], sealed[1+ns:1+wrapped], associated)
	if err != nil {
		return nil, ErrOpen
	}
	dk, err := newAEAD(dataKey)
	if err != nil {
		return nil, ErrOpen
	}
	rest := sealed[1+wrapped:]
	plain, err := dk.Open(nil, rest[:ns], rest[ns:], associated)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ParseKey decodes a master key given as 64 hex digits or as standard
// base64 of 32 bytes (the forms OPENFC_MASTER_KEY accepts).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	return nil, fmt.Errorf("seal: master key must be 32 bytes as 64 hex digits or base64")
}

// LoadOrCreateKey reads the master key file at path, or creates it with a
// new random key (mode 0600) when it does not exist. It reports whether the
// key was created.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(data))
		if err != nil {
			return nil, false, fmt.Errorf("read master key %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("create master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create master key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write master key: %w", err)
	}
	return key, true, nil
}
