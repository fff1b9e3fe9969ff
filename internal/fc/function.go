package fc

// Function is FC's function object (spec §2.3) in its wire and stored form.
// Sizes and durations keep FC's units (MB, seconds) because this is the wire
// type; code inside openfc converts at its edge.
type Function struct {
	FunctionName            string                   `json:"functionName" fc:"immutable"`
	FunctionID              string                   `json:"functionId" fc:"readonly"`
	Description             string                   `json:"description"`
	Runtime                 string                   `json:"runtime"`
	Handler                 string                   `json:"handler"`
	Initializer             string                   `json:"initializer"`
	InitializationTimeout   int                      `json:"initializationTimeout"`
	Timeout                 int                      `json:"timeout"`
	MemorySize              int                      `json:"memorySize"`
	InstanceConcurrency     int                      `json:"instanceConcurrency"`
	InstanceSoftConcurrency int                      `json:"instanceSoftConcurrency,omitempty"`
	InstanceType            string                   `json:"instanceType"`
	CAPort                  int                      `json:"caPort"`
	CPU                     float64                  `json:"cpu,omitempty"`
	DiskSize                int                      `json:"diskSize,omitempty"`
	GPUMemorySize           int                      `json:"gpuMemorySize,omitempty"`
	CodeSize                int64                    `json:"codeSize" fc:"readonly"`
	CodeChecksum            string                   `json:"codeChecksum" fc:"readonly"`
	EnvironmentVariables    map[string]string        `json:"environmentVariables"`
	CustomContainerConfig   *CustomContainerConfig   `json:"customContainerConfig"`
	CustomRuntimeConfig     *CustomRuntimeConfig     `json:"customRuntimeConfig,omitempty"`
	CustomDNS               *CustomDNS               `json:"customDNS,omitempty"`
	CustomHealthCheckConfig *CustomHealthCheckConfig `json:"customHealthCheckConfig,omitempty"`
	InstanceLifecycleConfig *InstanceLifecycleConfig `json:"instanceLifecycleConfig,omitempty"`
	Layers                  []string                 `json:"layers"`
	CreatedTime             string                   `json:"createdTime" fc:"readonly"`
	LastModifiedTime        string                   `json:"lastModifiedTime" fc:"readonly"`
}

// FunctionInput is the body of CreateFunction and UpdateFunction: the
// function's fields plus its code, which is never returned.
type FunctionInput struct {
	Function
	Code *Code `json:"code" fc:"readonly"`
}

// Code carries a function's or layer's code package: a base64 zip inline,
// or an object in a bucket (not supported by openfc, which has no OSS).
type Code struct {
	ZipFile       string `json:"zipFile,omitempty"`
	OSSBucketName string `json:"ossBucketName,omitempty"`
	OSSObjectName string `json:"ossObjectName,omitempty"`
}

// CustomContainerConfig is FC's container image setting; command and args
// are JSON-array strings, as FC sends them.
type CustomContainerConfig struct {
	Image            string `json:"image"`
	Command          string `json:"command"`
	Args             string `json:"args"`
	AccelerationType string `json:"accelerationType,omitempty"`
	InstanceID       string `json:"instanceID,omitempty"`
	WebServerMode    *bool  `json:"webServerMode,omitempty"`
}

// CustomRuntimeConfig overrides the start command of a custom runtime.
type CustomRuntimeConfig struct {
	Command []string `json:"command"`
	Args    []string `json:"args"`
}

// CustomDNS is FC's per-function resolver configuration.
type CustomDNS struct {
	NameServers []string    `json:"nameServers"`
	Searches    []string    `json:"searches"`
	DNSOptions  []DNSOption `json:"dnsOptions"`
}

// DNSOption is one resolv.conf option.
type DNSOption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CustomHealthCheckConfig is FC's health check of a custom runtime.
type CustomHealthCheckConfig struct {
	HTTPGetURL          string `json:"httpGetUrl"`
	InitialDelaySeconds int    `json:"initialDelaySeconds"`
	PeriodSeconds       int    `json:"periodSeconds"`
	TimeoutSeconds      int    `json:"timeoutSeconds"`
	FailureThreshold    int    `json:"failureThreshold"`
	SuccessThreshold    int    `json:"successThreshold"`
}

// InstanceLifecycleConfig names the pre-freeze and pre-stop hooks.
type InstanceLifecycleConfig struct {
	PreFreeze *LifecycleHook `json:"preFreeze,omitempty"`
	PreStop   *LifecycleHook `json:"preStop,omitempty"`
}

// LifecycleHook is one lifecycle handler and its timeout in seconds.
type LifecycleHook struct {
	Handler string `json:"handler"`
	Timeout int    `json:"timeout"`
}

// GetFunctionCodeOutput is the body of GetFunctionCode.
type GetFunctionCodeOutput struct {
	URL      string `json:"url"`
	Checksum string `json:"checksum"`
}

// Defaults of a new function (spec §2.3, §7).
const (
	DefaultTimeout               = 60
	DefaultInitializationTimeout = 3
	DefaultMemorySize            = 128
	DefaultInstanceConcurrency   = 1
	DefaultInstanceType          = "e1"
	DefaultCAPort                = 9000
)

// ApplyDefaults fills FC's defaults into the fields a create request left
// at zero.
func (f *Function) ApplyDefaults() {
	if f.Timeout == 0 {
		f.Timeout = DefaultTimeout
	}
	if f.InitializationTimeout == 0 {
		f.InitializationTimeout = DefaultInitializationTimeout
	}
	if f.MemorySize == 0 {
		f.MemorySize = DefaultMemorySize
	}
	if f.InstanceConcurrency == 0 {
		f.InstanceConcurrency = DefaultInstanceConcurrency
	}
	if f.InstanceType == "" {
		f.InstanceType = DefaultInstanceType
	}
	if f.CAPort == 0 {
		f.CAPort = DefaultCAPort
	}
	if f.EnvironmentVariables == nil {
		f.EnvironmentVariables = map[string]string{}
	}
}
