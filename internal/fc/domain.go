package fc

// CustomDomain routes requests for a host name to functions (spec §2.6).
type CustomDomain struct {
	DomainName       string       `json:"domainName" fc:"immutable"`
	AccountID        string       `json:"accountId" fc:"readonly"`
	Protocol         string       `json:"protocol"`
	APIVersion       string       `json:"apiVersion" fc:"readonly"`
	RouteConfig      *RouteConfig `json:"routeConfig"`
	CertConfig       *CertConfig  `json:"certConfig"`
	TLSConfig        *TLSConfig   `json:"tlsConfig,omitempty"`
	WAFConfig        *WAFConfig   `json:"wafConfig,omitempty"`
	CreatedTime      string       `json:"createdTime" fc:"readonly"`
	LastModifiedTime string       `json:"lastModifiedTime" fc:"readonly"`
}

// RouteConfig is the list of path routes of a custom domain.
type RouteConfig struct {
	Routes []PathRoute `json:"routes"`
}

// PathRoute sends a path (exact, or a prefix ending in /*) to a function.
type PathRoute struct {
	Path          string         `json:"path"`
	ServiceName   string         `json:"serviceName"`
	FunctionName  string         `json:"functionName"`
	Qualifier     string         `json:"qualifier"`
	Methods       []string       `json:"methods"`
	RewriteConfig map[string]any `json:"rewriteConfig,omitempty"`
}

// CertConfig is a custom domain's certificate. PrivateKey is write-only: it
// is stored encrypted and returned as null.
type CertConfig struct {
	CertName    string  `json:"certName"`
	Certificate string  `json:"certificate"`
	PrivateKey  *string `json:"privateKey"`
}

// TLSConfig is a custom domain's TLS settings.
type TLSConfig struct {
	MinVersion   string   `json:"minVersion"`
	MaxVersion   string   `json:"maxVersion"`
	CipherSuites []string `json:"cipherSuites"`
}

// WAFConfig is a custom domain's firewall switch.
type WAFConfig struct {
	EnableWAF bool `json:"enableWAF"`
}
