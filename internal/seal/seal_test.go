package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testBox(t *testing.T) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealRoundTrip(t *testing.T) {
	b := testBox(t)
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 10000)} {
		s, err := b.Seal(plain, []byte("env/demo/fn"))
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) > 3 && bytes.Contains(s, plain[:4]) {
			t.Errorf("sealed value contains plaintext")
		}
		got, err := b.Open(s, []byte("env/demo/fn"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes", len(plain), len(got))
		}
	}
}

func TestSealRejects(t *testing.T) {
	b := testBox(t)
	s, err := b.Seal([]byte("hello"), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	tampered := bytes.Clone(s)
	tampered[len(tampered)-1] ^= 1
	cases := map[string]func() ([]byte, error){
		"other key":       func() ([]byte, error) { return other.Open(s, []byte("a")) },
		"other context":   func() ([]byte, error) { return b.Open(s, []byte("b")) },
		"tampered":        func() ([]byte, error) { return b.Open(tampered, []byte("a")) },
		"truncated":       func() ([]byte, error) { return b.Open(s[:10], []byte("a")) },
		"empty":           func() ([]byte, error) { return b.Open(nil, []byte("a")) },
		"unknown version": func() ([]byte, error) { c := bytes.Clone(s); c[0] = 9; return b.Open(c, []byte("a")) },
	}
	for name, open := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := open(); !errors.Is(err, ErrOpen) {
				t.Errorf("Open = %v, want ErrOpen", err)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKey = %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateKey = %v, %v", created, err)
	}
	if !bytes.Equal(k1, k2) {
		t.Errorf("key changed across loads")
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Errorf("LoadOrCreateKey accepted a malformed key file")
	}
}

func TestParseKey(t *testing.T) {
	hexKey := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	if k, err := ParseKey(hexKey); err != nil || k[31] != 0x1f {
		t.Errorf("ParseKey(hex) = %v, %v", k, err)
	}
	if k, err := ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="); err != nil || k[31] != 0x1f {
		t.Errorf("ParseKey(base64) = %v, %v", k, err)
	}
	if _, err := ParseKey("abc"); err == nil {
		t.Errorf("ParseKey(abc) succeeded")
	}
}
