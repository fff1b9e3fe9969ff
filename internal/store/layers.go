package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// layerRecord is a published layer version and its code package.
type layerRecord struct {
	fc.Layer
	CodeSHA256 string `json:"codeSha256"`
}

func layerKey(name string, version int64) string {
	return fmt.Sprintf("%s%s.%020d", pLayer, name, version)
}

func layerNotFound(name string, version int64) error {
	if version == 0 {
		return fc.Errorf(http.StatusNotFound, fc.CodeLayerNotFound, "layer '%s' does not exist", name)
	}
	return fc.Errorf(http.StatusNotFound, fc.CodeLayerNotFound, "version %d of layer '%s' does not exist", version, name)
}

// ownerHash is the account part of FC's legacy layer ARN.
func (s *Store) ownerHash() string {
	sum := sha256.Sum256([]byte(s.accountID))
	return hex.EncodeToString(sum[:16])
}

// PublishLayerVersion stores a new version of a layer.
func (s *Store) PublishLayerVersion(ctx context.Context, name string, in *fc.LayerInput) (*fc.Layer, error) {
	var p []string
	if !fc.ValidName(name, fc.MaxOtherNameLen) {
		p = append(p, fmt.Sprintf("layerName %q is invalid: use letters, digits, '_' or '-', starting with a letter or '_'", name))
	}
	for _, r := range in.CompatibleRuntime {
		if !fc.KnownRuntime(r) {
			p = append(p, fmt.Sprintf("compatibleRuntime has %q, which is not a runtime openfc runs", r))
		}
	}
	if in.Code == nil {
		p = append(p, "code is required: send code.zipFile, a base64-encoded zip")
	}
	if err := fc.JoinErrors(p); err != nil {
		return nil, err
	}
	var code FunctionRecord
	if err := s.putCode(ctx, &code, in.Code, ""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.nextSeq(ctx, seqKey("layer", name))
	if err != nil {
		return nil, err
	}
	rt := in.CompatibleRuntime
	if rt == nil {
		rt = []string{}
	}
	rec := layerRecord{Layer: fc.Layer{
		LayerName: name, Version: int64(v), Description: in.Description, CodeSize: code.CodeSize,
		CodeChecksum: code.CodeChecksum, CreateTime: s.timestamp(), CompatibleRuntime: rt, License: in.License,
		Code:  fc.LayerCode{RepositoryType: "openfc", Location: "/openfc/v1/layers/" + name + "/versions/" + strconv.FormatUint(v, 10) + "/code"},
		ARN:   s.ownerHash() + "#" + name + "#" + strconv.FormatUint(v, 10),
		ARNV2: fmt.Sprintf("acs:fc:%s:%s:layers/%s/versions/%d", s.region, s.accountID, name, v),
	}, CodeSHA256: code.CodeSHA256}
	if _, err := s.create(ctx, layerKey(name, int64(v)), &rec); err != nil {
		return nil, fmt.Errorf("publish layer %s version %d: %w", name, v, err)
	}
	return &rec.Layer, nil
}

// LayerVersion returns one version of a layer and its code checksum.
func (s *Store) LayerVersion(name string, version int64) (*fc.Layer, string, error) {
	r, _, ok := lookup[layerRecord](s, layerKey(name, version))
	if !ok || !fc.ValidName(name, fc.MaxOtherNameLen) {
		return nil, "", layerNotFound(name, version)
	}
	return &r.Layer, r.CodeSHA256, nil
}

// LayerByARN resolves a layer version from its arn or arnV2.
func (s *Store) LayerByARN(arn string) (*fc.Layer, error) {
	var name, ver string
	if parts := strings.Split(arn, "#"); len(parts) == 3 {
		if parts[0] != s.ownerHash() {
			return nil, layerNotFound(arn, 0)
		}
		name, ver = parts[1], parts[2]
	} else if i := strings.Index(arn, ":layers/"); strings.HasPrefix(arn, "acs:fc:") && i > 0 {
		rest := arn[i+len(":layers/"):]
		n, v, ok := strings.Cut(rest, "/versions/")
		if !ok {
			return nil, layerNotFound(arn, 0)
		}
		name, ver = n, v
	} else {
		return nil, layerNotFound(arn, 0)
	}
	v, err := strconv.ParseInt(ver, 10, 64)
	if err != nil {
		return nil, layerNotFound(arn, 0)
	}
	l, _, err := s.LayerVersion(name, v)
	return l, err
}

// LayerCodeSHA returns the code checksum of a layer version named by ARN.
func (s *Store) LayerCodeSHA(arn string) (string, error) {
	l, err := s.LayerByARN(arn)
	if err != nil {
		return "", err
	}
	_, sha, err := s.LayerVersion(l.LayerName, l.Version)
	return sha, err
}

// ListLayers lists the newest version of each layer.
func (s *Store) ListLayers(p Page) ([]*fc.Layer, string) {
	latest := map[string]*fc.Layer{}
	var names []string
	s.idx.scan(pLayer, "", func(_ string, e entry) bool {
		if r, ok := e.val.(*layerRecord); ok {
			if _, seen := latest[r.LayerName]; !seen {
				names = append(names, r.LayerName)
			}
			latest[r.LayerName] = &r.Layer
		}
		return true
	})
	from := max(p.StartKey, p.Prefix)
	if p.NextToken != "" {
		from = max(p.NextToken, p.Prefix)
	}
	var out []*fc.Layer
	for _, n := range names {
		if n < from || !strings.HasPrefix(n, p.Prefix) {
			continue
		}
		if len(out) == p.limit() {
			return out, n
		}
		out = append(out, latest[n])
	}
	return out, ""
}

// ListLayerVersions lists a layer's versions from startVersion on; the
// second result is the next version to ask for, 0 when exhausted.
func (s *Store) ListLayerVersions(name string, startVersion int64, limit int) ([]*fc.Layer, int64, error) {
	var out []*fc.Layer
	var next int64
	l := Page{Limit: limit}.limit()
	s.idx.scan(pLayer+name+".", "", func(_ string, e entry) bool {
		r, ok := e.val.(*layerRecord)
		if !ok || r.Version < startVersion {
			return true
		}
		if len(out) == l {
			next = r.Version
			return false
		}
		out = append(out, &r.Layer)
		return true
	})
	if out == nil && next == 0 {
		return nil, 0, layerNotFound(name, 0)
	}
	return out, next, nil
}

// DeleteLayerVersion removes a layer version. Functions that use it keep
// their unpacked copy, as in FC.
func (s *Store) DeleteLayerVersion(ctx context.Context, name string, version int64) error {
	key := layerKey(name, version)
	_, rev, ok := lookup[layerRecord](s, key)
	if !ok {
		return layerNotFound(name, version)
	}
	if err := s.removeKey(ctx, key, rev, ""); err != nil {
		return err
	}
	return nil
}

// SetLayerACL makes every version of a layer public (acl 1) or private.
func (s *Store) SetLayerACL(ctx context.Context, name string, public bool) error {
	var keys []string
	s.idx.scan(pLayer+name+".", "", func(k string, _ entry) bool { keys = append(keys, k); return true })
	if len(keys) == 0 {
		return layerNotFound(name, 0)
	}
	acl := 0
	if public {
		acl = 1
	}
	for _, k := range keys {
		if _, err := modify(ctx, s, k, "", func() error { return layerNotFound(name, 0) }, func(r *layerRecord) error {
			r.ACL = acl
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
