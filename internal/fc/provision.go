package fc

import (
	"fmt"
	"strings"
	"time"
)

// MetricProvisionedConcurrencyUtilization is the metric target-tracking
// policies follow: requests in flight over the provisioned instances'
// slots (instances × instanceConcurrency).
const MetricProvisionedConcurrencyUtilization = "ProvisionedConcurrencyUtilization"

// ScheduleExpression splits a scheduled action's scheduleExpression into
// its kind, "cron" (FC's six fields, seconds first) or "at" (one time),
// and the text between the parentheses.
func ScheduleExpression(expr string) (kind, body string, err error) {
	expr = strings.TrimSpace(expr)
	for _, k := range []string{"cron", "at"} {
		if strings.HasPrefix(expr, k+"(") && strings.HasSuffix(expr, ")") {
			return k, strings.TrimSpace(expr[len(k)+1 : len(expr)-1]), nil
		}
	}
	return "", "", fmt.Errorf("scheduleExpression %q: use cron(<seconds> <minutes> <hours> <day of month> <month> <day of week>) or at(2006-01-02T15:04:05Z)", expr)
}

// ScheduleLocation returns the time zone of a scheduled action or policy
// ("" is UTC).
func ScheduleLocation(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timeZone %q: use an IANA name such as Asia/Shanghai or UTC", tz)
	}
	return loc, nil
}

// ScheduleTime parses a startTime, endTime or at() time: RFC 3339, or
// without an offset, in loc. "" is the zero time (no bound).
func ScheduleTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: use 2006-01-02T15:04:05Z (RFC 3339) or a local time 2006-01-02T15:04:05 in timeZone", s)
}

// ValidateProvisionConfig reports every problem of a provision config at
// once; cron checks the cron() expressions (nil skips them).
func ValidateProvisionConfig(c *ProvisionConfig, cron CronValidator) error {
	var p []string
	if c.Target == nil || *c.Target < 0 {
		p = append(p, "target is required: a number of instances, 0 or more")
	}
	window := func(what, start, end string, loc *time.Location) {
		st, err1 := ScheduleTime(start, loc)
		en, err2 := ScheduleTime(end, loc)
		for _, err := range []error{err1, err2} {
			if err != nil {
				p = append(p, what+": "+err.Error())
			}
		}
		if err1 == nil && err2 == nil && !st.IsZero() && !en.IsZero() && !en.After(st) {
			p = append(p, what+": endTime must be after startTime")
		}
	}
	names := map[string]bool{}
	for i, a := range c.ScheduledActions {
		what := fmt.Sprintf("scheduledActions[%d]", i)
		if a.Name == "" || a.Target < 0 {
			p = append(p, what+" needs a name and a target of 0 or more")
		}
		if names[a.Name] {
			p = append(p, what+": name "+a.Name+" is used twice")
		}
		names[a.Name] = true
		loc, err := ScheduleLocation(a.TimeZone)
		if err != nil {
			p = append(p, what+": "+err.Error())
			loc = time.UTC
		}
		window(what, a.StartTime, a.EndTime, loc)
		kind, body, err := ScheduleExpression(a.ScheduleExpression)
		switch {
		case err != nil:
			p = append(p, what+": "+err.Error())
		case kind == "at":
			if _, err := ScheduleTime(body, loc); err != nil {
				p = append(p, what+": at(): "+err.Error())
			}
		case cron != nil:
			if err := cron(body); err != nil {
				p = append(p, fmt.Sprintf("%s: cron(%s): %v", what, body, err))
			}
		}
	}
	for i, t := range c.TargetTrackingPolicies {
		what := fmt.Sprintf("targetTrackingPolicies[%d]", i)
		if t.Name == "" || t.MinCapacity < 0 || t.MaxCapacity < t.MinCapacity {
			p = append(p, what+" needs a name and 0 <= minCapacity <= maxCapacity")
		}
		if names["policy:"+t.Name] {
			p = append(p, what+": name "+t.Name+" is used twice")
		}
		names["policy:"+t.Name] = true
		if t.MetricType != MetricProvisionedConcurrencyUtilization {
			p = append(p, what+": metricType must be "+MetricProvisionedConcurrencyUtilization)
		}
		if t.MetricTarget <= 0 || t.MetricTarget > 1 {
			p = append(p, what+": metricTarget must be a utilisation above 0 and at most 1, e.g. 0.6")
		}
		loc, err := ScheduleLocation(t.TimeZone)
		if err != nil {
			p = append(p, what+": "+err.Error())
			loc = time.UTC
		}
		window(what, t.StartTime, t.EndTime, loc)
	}
	return JoinErrors(p)
}
