package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/openfc/openfc/internal/blob"
	"github.com/openfc/openfc/internal/fc"
)

// FunctionRecord is a stored function: FC's function object plus where its
// code lives. The environment variables are sealed in EnvSealed and opened
// into Function.EnvironmentVariables when the record enters the index; the
// shadowing Env field keeps the plaintext out of the stored JSON.
type FunctionRecord struct {
	fc.Function
	Env        map[string]string `json:"environmentVariables,omitempty"` // always nil when stored
	Service    string            `json:"serviceName"`
	CodeSHA256 string            `json:"codeSha256"`
	EnvSealed  []byte            `json:"envSealed,omitempty"`
}

func functionKey(service, function string) string { return pFunction + service + "." + function }

func envContext(functionID string) []byte { return []byte("env/" + functionID) }

func (s *Store) sealEnv(r *FunctionRecord) error {
	r.Env = nil
	r.EnvSealed = nil
	if len(r.EnvironmentVariables) == 0 {
		return nil
	}
	plain, err := json.Marshal(r.EnvironmentVariables)
	if err != nil {
		return fmt.Errorf("encode environment: %w", err)
	}
	r.EnvSealed, err = s.box.Seal(plain, envContext(r.FunctionID))
	if err != nil {
		return fmt.Errorf("seal environment: %w", err)
	}
	return nil
}

func (s *Store) openEnv(r *FunctionRecord) error {
	r.EnvironmentVariables = map[string]string{}
	if len(r.EnvSealed) == 0 {
		return nil
	}
	plain, err := s.box.Open(r.EnvSealed, envContext(r.FunctionID))
	if err != nil {
		return fmt.Errorf("open environment of function %s: %w", r.FunctionName, err)
	}
	return json.Unmarshal(plain, &r.EnvironmentVariables)
}

// Function returns the LATEST configuration of a function.
func (s *Store) Function(service, function string) (Item[FunctionRecord], error) {
	if _, err := s.Service(service); err != nil {
		return Item[FunctionRecord]{}, err
	}
	key := functionKey(service, function)
	v, rev, ok := lookup[FunctionRecord](s, key)
	if !ok || !fc.ValidName(function, fc.MaxFunctionNameLen) {
		return Item[FunctionRecord]{}, fc.FunctionNotFound(service, function)
	}
	return Item[FunctionRecord]{Value: v, ETag: ETag(key, rev)}, nil
}

// ListFunctions pages through a service's functions at LATEST.
func (s *Store) ListFunctions(service string, p Page) ([]*FunctionRecord, string, error) {
	if _, err := s.Service(service); err != nil {
		return nil, "", err
	}
	items, next := list[FunctionRecord](s, pFunction+service+".", p, nil)
	return items, next, nil
}

// CreateFunction stores a new function with its code. checksum, when not
// empty, is the client's X-Fc-Code-Checksum, which must match the zip.
func (s *Store) CreateFunction(ctx context.Context, service string, in *fc.FunctionInput, checksum string) (Item[FunctionRecord], error) {
	if _, err := s.Service(service); err != nil {
		return Item[FunctionRecord]{}, err
	}
	r := FunctionRecord{Function: in.Function, Service: service}
	r.ApplyDefaults()
	problems := s.functionProblems(&r.Function)
	if in.Code == nil {
		problems = append(problems, "code is required: send code.zipFile, a base64-encoded zip")
	}
	if err := fc.JoinErrors(problems); err != nil {
		return Item[FunctionRecord]{}, err
	}
	if err := s.putCode(ctx, &r, in.Code, checksum); err != nil {
		return Item[FunctionRecord]{}, err
	}
	r.FunctionID = uuid.NewString()
	r.CreatedTime = s.timestamp()
	r.LastModifiedTime = r.CreatedTime
	stored := r
	if err := s.sealEnv(&stored); err != nil {
		return Item[FunctionRecord]{}, err
	}
	key := functionKey(service, r.FunctionName)
	rev, err := s.create(ctx, key, &stored)
	if errors.Is(err, errExists) {
		return Item[FunctionRecord]{}, fc.Errorf(http.StatusConflict, fc.CodeFunctionAlreadyExists,
			"function '%s' already exists in service '%s'", r.FunctionName, service)
	}
	if err != nil {
		return Item[FunctionRecord]{}, err
	}
	return Item[FunctionRecord]{Value: &r, ETag: ETag(key, rev)}, nil
}

// UpdateFunction merges the present fields of in into a function, and
// replaces its code when in carries some.
func (s *Store) UpdateFunction(ctx context.Context, service, function string, in *fc.FunctionInput, present fc.Present, ifMatch, checksum string) (Item[FunctionRecord], error) {
	if _, err := s.Service(service); err != nil {
		return Item[FunctionRecord]{}, err
	}
	// The code is checked and stored once, outside the retry loop.
	var code FunctionRecord
	if present.Has("code") {
		if err := s.putCode(ctx, &code, in.Code, checksum); err != nil {
			return Item[FunctionRecord]{}, err
		}
	}
	key := functionKey(service, function)
	it, err := modify(ctx, s, key, ifMatch, func() error { return fc.FunctionNotFound(service, function) }, func(r *FunctionRecord) error {
		fc.Merge(&r.Function, &in.Function, present)
		r.ApplyDefaults()
		if err := fc.JoinErrors(s.functionProblems(&r.Function)); err != nil {
			return err
		}
		if code.CodeSHA256 != "" {
			r.CodeSHA256, r.CodeSize, r.CodeChecksum = code.CodeSHA256, code.CodeSize, code.CodeChecksum
		}
		r.LastModifiedTime = s.timestamp()
		return s.sealEnv(r)
	})
	// it.Value still holds the environment in clear (only EnvSealed was
	// stored), which is what the caller returns.
	return it, err
}

// DeleteFunction removes a function that has no triggers left.
func (s *Store) DeleteFunction(ctx context.Context, service, function, ifMatch string) error {
	if _, err := s.Service(service); err != nil {
		return err
	}
	key := functionKey(service, function)
	_, rev, ok := lookup[FunctionRecord](s, key)
	if !ok {
		return fc.FunctionNotFound(service, function)
	}
	if err := checkIfMatch(key, rev, ifMatch); err != nil {
		return err
	}
	if n := s.idx.count(triggerPrefix(service, function)); n > 0 {
		return fc.Errorf(http.StatusBadRequest, fc.CodeFunctionNotEmpty,
			"function '%s' still has %d trigger(s): delete them first", function, n)
	}
	if err := s.removeKey(ctx, key, rev, ifMatch); err != nil {
		return err
	}
	return s.dropLimits(ctx, service, function)
}

func (s *Store) functionProblems(f *fc.Function) []string {
	var p []string
	if err := fc.ValidateFunction(f); err != nil {
		e, _ := fc.AsError(err)
		p = append(p, e.Message)
	}
	if s.runtimeOK != nil && fc.KnownRuntime(f.Runtime) {
		if err := s.runtimeOK(f.Runtime); err != nil {
			p = append(p, fmt.Sprintf("runtime %s is not available on this node: %v", f.Runtime, err))
		}
	}
	for _, ref := range f.Layers {
		if _, err := s.LayerByARN(ref); err != nil {
			p = append(p, fmt.Sprintf("layer %q does not exist: publish it first or use its arn or arnV2", ref))
		}
	}
	return p
}

// putCode decodes, checks and stores a code package, filling r's code
// fields.
func (s *Store) putCode(ctx context.Context, r *FunctionRecord, code *fc.Code, checksum string) error {
	zip, err := decodeZip(code)
	if err != nil {
		return err
	}
	ref, err := s.blobs.Put(ctx, zip)
	if err != nil {
		return err
	}
	if checksum = strings.TrimSpace(checksum); checksum != "" && checksum != ref.Checksum() {
		return fc.InvalidArgument("X-Fc-Code-Checksum %s does not match the code's CRC-64 %s", checksum, ref.Checksum())
	}
	r.CodeSHA256, r.CodeSize, r.CodeChecksum = ref.SHA256, ref.Size, ref.Checksum()
	return nil
}

func decodeZip(code *fc.Code) ([]byte, error) {
	switch {
	case code == nil || (code.ZipFile == "" && code.OSSBucketName == "" && code.OSSObjectName == ""):
		return nil, fc.InvalidArgument("code is empty: send code.zipFile, a base64-encoded zip")
	case code.ZipFile != "" && (code.OSSBucketName != "" || code.OSSObjectName != ""):
		return nil, fc.InvalidArgument("code has both zipFile and ossBucketName/ossObjectName: send one")
	case code.ZipFile == "":
		return nil, fc.InvalidArgument("code from OSS (ossBucketName/ossObjectName) is not supported by openfc: send code.zipFile")
	case len(code.ZipFile) > fc.MaxCodeBase64Bytes:
		return nil, fc.EntityTooLarge(fc.MaxCodeBase64Bytes)
	}
	zip, err := base64.StdEncoding.DecodeString(code.ZipFile)
	if err != nil {
		return nil, fc.InvalidArgument("code.zipFile is not valid base64: %v", err)
	}
	return zip, nil
}

// CodePackage returns the zip stored under a code checksum.
func (s *Store) CodePackage(ctx context.Context, sha string) ([]byte, error) {
	data, err := s.blobs.Get(ctx, sha)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fc.Errorf(http.StatusNotFound, fc.CodeInvalidArgument, "code package %s does not exist", sha)
	}
	return data, err
}
