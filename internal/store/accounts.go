package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Account is this node's account, created at first start.
type Account struct {
	AccountID   string `json:"accountId"`
	RootKeyID   string `json:"rootKeyId,omitempty"`
	CreatedTime string `json:"createdTime"`
}

// AccessKey is an access key pair that signs API requests.
type AccessKey struct {
	ID            string
	Secret        string
	SecurityToken string // set for STS-style keys, which must send it
	AccountID     string
	Expires       time.Time // zero: never
}

// keyRecord is a stored access key; the secret is sealed.
type keyRecord struct {
	ID            string    `json:"accessKeyId"`
	SecretSealed  []byte    `json:"secretSealed"`
	SecurityToken string    `json:"securityToken,omitempty"`
	AccountID     string    `json:"accountId"`
	Expires       time.Time `json:"expires,omitzero"`
	CreatedTime   string    `json:"createdTime"`
	secret        string
}

// Account returns the stored account, if any.
func (s *Store) Account() (*Account, bool) {
	a, _, ok := lookup[Account](s, keyAcct)
	return a, ok
}

// SetAccount stores the node's account if none is stored yet, and returns
// the one that is stored (so concurrent first starts agree).
func (s *Store) SetAccount(ctx context.Context, accountID string) (*Account, error) {
	a := &Account{AccountID: accountID, CreatedTime: s.timestamp()}
	if _, err := s.create(ctx, keyAcct, a); err != nil && !errors.Is(err, errExists) {
		return nil, err
	}
	stored, ok := s.Account()
	if !ok {
		return nil, fmt.Errorf("account record missing after write")
	}
	return stored, nil
}

// AccessKey returns an access key by ID from the index; it is cheap enough
// for every request.
func (s *Store) AccessKey(id string) (AccessKey, bool) {
	r, _, ok := lookup[keyRecord](s, pKey+id)
	if !ok {
		return AccessKey{}, false
	}
	return AccessKey{ID: r.ID, Secret: r.secret, SecurityToken: r.SecurityToken, AccountID: r.AccountID, Expires: r.Expires}, true
}

// PutAccessKey stores (or replaces) an access key, sealing its secret.
func (s *Store) PutAccessKey(ctx context.Context, k AccessKey) error {
	key := pKey + k.ID
	sealed, err := s.box.Seal([]byte(k.Secret), []byte(key))
	if err != nil {
		return fmt.Errorf("seal access key secret: %w", err)
	}
	r := keyRecord{ID: k.ID, SecretSealed: sealed, SecurityToken: k.SecurityToken, AccountID: k.AccountID,
		Expires: k.Expires, CreatedTime: s.timestamp()}
	_, err = putValue(ctx, s, key, &r, "")
	return err
}

// SetRootKey records which access key is the account's root key, so later
// starts can write it to credentials.json again.
func (s *Store) SetRootKey(ctx context.Context, id string) error {
	_, err := modify(ctx, s, keyAcct, "", func() error { return errors.New("store: no account") }, func(a *Account) error {
		a.RootKeyID = id
		return nil
	})
	return err
}

// SetAccountID sets the account used in ARNs; app calls it once the stored
// account is known, before serving requests.
func (s *Store) SetAccountID(id string) {
	s.mu.Lock()
	s.accountID = id
	s.mu.Unlock()
}
