package store

import (
	"context"
	"maps"
	"net/http"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// serviceOfARN returns the service a tag resource ARN names: either
// acs:fc:<region>:<account>:services/<name> or services/<name>.
func serviceOfARN(arn string) (string, error) {
	i := strings.Index(arn, "services/")
	if i < 0 || (i > 0 && !strings.HasPrefix(arn, "acs:fc:")) {
		return "", fc.InvalidArgument("resourceArn %q is invalid: use acs:fc:<region>:<account>:services/<name> or services/<name>", arn)
	}
	name := strings.TrimSuffix(arn[i+len("services/"):], "/")
	if !fc.ValidName(name, fc.MaxServiceNameLen) {
		return "", fc.InvalidArgument("resourceArn %q is invalid: only services can be tagged", arn)
	}
	return name, nil
}

// Tags returns the tags of the service a resource ARN names.
func (s *Store) Tags(arn string) (*fc.Tags, error) {
	name, err := serviceOfARN(arn)
	if err != nil {
		return nil, err
	}
	svc, err := s.Service(name)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(svc.Value.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	return &fc.Tags{ResourceARN: arn, Tags: tags}, nil
}

// TagResource adds or replaces tags on a service.
func (s *Store) TagResource(ctx context.Context, in *fc.TagInput) error {
	name, err := serviceOfARN(in.ResourceARN)
	if err != nil {
		return err
	}
	if len(in.Tags) == 0 || len(in.Tags) > fc.MaxTags {
		return fc.InvalidArgument("tags must have 1 to %d entries", fc.MaxTags)
	}
	for k, v := range in.Tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(k, "acs:") || strings.HasPrefix(k, "aliyun") {
			return fc.InvalidArgument("tag %q is invalid: keys are 1 to 128 characters, not starting with acs: or aliyun; values up to 256", k)
		}
	}
	_, err = modify(ctx, s, serviceKey(name), "", func() error { return fc.ServiceNotFound(name) }, func(svc *fc.Service) error {
		tags := maps.Clone(svc.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		maps.Copy(tags, in.Tags)
		if len(tags) > fc.MaxTags {
			return fc.Errorf(http.StatusBadRequest, fc.CodeLimitExceeded, "service '%s' would have %d tags; the limit is %d", name, len(tags), fc.MaxTags)
		}
		svc.Tags = tags
		return nil
	})
	return err
}

// UntagResource removes tags (or all of them) from a service.
func (s *Store) UntagResource(ctx context.Context, in *fc.UntagInput) error {
	name, err := serviceOfARN(in.ResourceARN)
	if err != nil {
		return err
	}
	if !in.All && len(in.TagKeys) == 0 {
		return fc.InvalidArgument("tagKeys is empty: name the tags to remove, or set all to true")
	}
	_, err = modify(ctx, s, serviceKey(name), "", func() error { return fc.ServiceNotFound(name) }, func(svc *fc.Service) error {
		if in.All {
			svc.Tags = nil
			return nil
		}
		tags := maps.Clone(svc.Tags)
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		svc.Tags = tags
		return nil
	})
	return err
}

// TaggedResources lists the services that have tags.
func (s *Store) TaggedResources(p Page) ([]fc.Tags, string) {
	svcs, next := list(s, pService, p, func(svc *fc.Service) bool { return len(svc.Tags) > 0 })
	out := make([]fc.Tags, len(svcs))
	for i, svc := range svcs {
		out[i] = fc.Tags{ResourceARN: "services/" + svc.ServiceName, Tags: svc.Tags}
	}
	return out, next
}
