package fc

// Version is a published, immutable snapshot of a service (spec §2.5).
type Version struct {
	VersionID        string `json:"versionId"`
	Description      string `json:"description"`
	CreatedTime      string `json:"createdTime"`
	LastModifiedTime string `json:"lastModifiedTime"`
}

// Alias points at a version, optionally sending a share of the calls to
// other versions (canary).
type Alias struct {
	AliasName               string             `json:"aliasName" fc:"immutable"`
	VersionID               string             `json:"versionId"`
	Description             string             `json:"description"`
	AdditionalVersionWeight map[string]float64 `json:"additionalVersionWeight"`
	ResolvePolicy           string             `json:"resolvePolicy,omitempty"`
	RoutePolicy             *RoutePolicy       `json:"routePolicy,omitempty"`
	CreatedTime             string             `json:"createdTime" fc:"readonly"`
	LastModifiedTime        string             `json:"lastModifiedTime" fc:"readonly"`
}

// RoutePolicy is FC's header-based alias routing (stored as given).
type RoutePolicy struct {
	ConditionRules []map[string]any `json:"conditionRules"`
	PolicyItems    []map[string]any `json:"policyItems"`
}
