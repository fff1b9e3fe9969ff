package fc

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an FC API error: the HTTP status and the ErrorCode and
// ErrorMessage that FC's SDKs read from the JSON error body. The request ID
// is added when the error is rendered.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"ErrorCode"`
	Message string `json:"ErrorMessage"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given status, code and formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError reports whether err is or wraps an *Error and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// FC error codes (spec §5). The status each is sent with is fixed by the
// constructors below, so one code always travels with one status.
const (
	CodeInvalidArgument         = "InvalidArgument"
	CodeMissingRequiredHeader   = "MissingRequiredHeader"
	CodePathNotSupported        = "PathNotSupported"
	CodeEntityTooLarge          = "EntityTooLarge"
	CodeLimitExceeded           = "LimitExceeded"
	CodeAccessDenied            = "AccessDenied"
	CodeSignatureNotMatch       = "SignatureNotMatch"
	CodeInvalidAccessKeyID      = "InvalidAccessKeyID"
	CodeInvalidSecurityToken    = "InvalidSecurityToken"
	CodeRequestTimeTooSkewed    = "RequestTimeTooSkewed"
	CodeServiceNotFound         = "ServiceNotFound"
	CodeFunctionNotFound        = "FunctionNotFound"
	CodeTriggerNotFound         = "TriggerNotFound"
	CodeAliasNotFound           = "AliasNotFound"
	CodeVersionNotFound         = "VersionNotFound"
	CodeDomainNameNotFound      = "DomainNameNotFound"
	CodeAsyncConfigNotExists    = "AsyncConfigNotExists"
	CodeLayerNotFound           = "LayerNotFound"
	CodeProvisionConfigNotFound = "ProvisionConfigNotFound"
	CodeOnDemandConfigNotFound  = "OnDemandConfigNotFound"
	CodeStatefulNotFound        = "StatefulAsyncInvocationNotFound"
	CodeServiceAlreadyExists    = "ServiceAlreadyExists"
	CodeFunctionAlreadyExists   = "FunctionAlreadyExists"
	CodeTriggerAlreadyExists    = "TriggerAlreadyExists"
	CodeAliasAlreadyExists      = "AliasAlreadyExists"
	CodeDomainAlreadyExists     = "DomainNameAlreadyExists"
	CodeServiceNotEmpty         = "ServiceNotEmpty"
	CodeFunctionNotEmpty        = "FunctionNotEmpty"
	CodeVersionInUse            = "VersionInUse"
	CodePreconditionFailed      = "PreconditionFailed"
	CodeResourceExhausted       = "ResourceExhausted"
	CodeResourceThrottled       = "ResourceThrottled"
	CodeInternalServerError     = "InternalServerError"
	CodeMethodNotAllowed        = "MethodNotAllowed"
)

// InvalidArgument returns a 400 InvalidArgument error.
func InvalidArgument(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeInvalidArgument, format, args...)
}

// EntityTooLarge returns FC's 400 EntityTooLarge error for a limit in bytes.
func EntityTooLarge(limit int64) *Error {
	return Errorf(http.StatusBadRequest, CodeEntityTooLarge, "payload size exceeds maximum allowed size (%d bytes)", limit)
}

// AccessDenied returns a 403 AccessDenied error.
func AccessDenied(format string, args ...any) *Error {
	return Errorf(http.StatusForbidden, CodeAccessDenied, format, args...)
}

// SignatureNotMatch returns FC's 403 SignatureNotMatch error with FC's text.
func SignatureNotMatch() *Error {
	return Errorf(http.StatusForbidden, CodeSignatureNotMatch,
		"The request signature we calculated does not match the signature you provided. Check your access key and signing method")
}

// ServiceNotFound returns FC's 404 for a missing service.
func ServiceNotFound(service string) *Error {
	return Errorf(http.StatusNotFound, CodeServiceNotFound, "service '%s' does not exist", service)
}

// FunctionNotFound returns FC's 404 for a missing function.
func FunctionNotFound(service, function string) *Error {
	return Errorf(http.StatusNotFound, CodeFunctionNotFound, "function '%s' does not exist in service '%s'", function, service)
}

// TriggerNotFound returns FC's 404 for a missing trigger.
func TriggerNotFound(function, trigger string) *Error {
	return Errorf(http.StatusNotFound, CodeTriggerNotFound, "trigger '%s' does not exist in function '%s'", trigger, function)
}

// AliasNotFound returns FC's 404 for a missing alias.
func AliasNotFound(service, alias string) *Error {
	return Errorf(http.StatusNotFound, CodeAliasNotFound, "alias '%s' of service '%s' does not exist", alias, service)
}

// VersionNotFound returns FC's 404 for a missing version.
func VersionNotFound(service, version string) *Error {
	return Errorf(http.StatusNotFound, CodeVersionNotFound, "version '%s' of service '%s' does not exist", version, service)
}

// PreconditionFailed returns the 412 sent when If-Match does not match the
// resource's current ETag.
func PreconditionFailed(etag string) *Error {
	return Errorf(http.StatusPreconditionFailed, CodePreconditionFailed,
		"the resource has changed: If-Match does not match the current ETag %q; get it again and retry", etag)
}

// InternalError is the only message a client sees for a platform failure;
// the cause is logged with the request ID instead.
func InternalError() *Error {
	return Errorf(http.StatusInternalServerError, CodeInternalServerError, "internal server error; the operator can find the cause in the server log by its request ID")
}
