package fc

// Service is FC's service object (spec §2.2): a group of functions sharing
// role, log, network and tracing settings. The same struct is the wire form
// and the stored form; nested objects are pointers so that absent or null
// keys stay distinguishable from empty objects.
type Service struct {
	ServiceName      string            `json:"serviceName" fc:"immutable"`
	ServiceID        string            `json:"serviceId" fc:"readonly"`
	Description      string            `json:"description"`
	Role             string            `json:"role"`
	LogConfig        *LogConfig        `json:"logConfig"`
	VPCConfig        *VPCConfig        `json:"vpcConfig"`
	InternetAccess   *bool             `json:"internetAccess"`
	NASConfig        *NASConfig        `json:"nasConfig"`
	TracingConfig    *TracingConfig    `json:"tracingConfig"`
	OSSMountConfig   *OSSMountConfig   `json:"ossMountConfig,omitempty"`
	Tags             map[string]string `json:"tags,omitempty" fc:"readonly"`
	CreatedTime      string            `json:"createdTime" fc:"readonly"`
	LastModifiedTime string            `json:"lastModifiedTime" fc:"readonly"`
}

// LogConfig names the log project and store of a service (kept for
// compatibility; openfc's own log store is fnlog).
type LogConfig struct {
	Project               string `json:"project"`
	Logstore              string `json:"logstore"`
	EnableRequestMetrics  bool   `json:"enableRequestMetrics"`
	EnableInstanceMetrics bool   `json:"enableInstanceMetrics"`
	LogBeginRule          string `json:"logBeginRule,omitempty"`
}

// VPCConfig is FC's VPC binding, stored and returned as given.
type VPCConfig struct {
	VPCID           string   `json:"vpcId"`
	VSwitchIDs      []string `json:"vSwitchIds"`
	SecurityGroupID string   `json:"securityGroupId"`
	Role            string   `json:"role,omitempty"`
}

// NASConfig is FC's NAS mount configuration, stored and returned as given.
type NASConfig struct {
	UserID      int             `json:"userId"`
	GroupID     int             `json:"groupId"`
	MountPoints []NASMountPoint `json:"mountPoints"`
}

// NASMountPoint is one NAS mount of a service.
type NASMountPoint struct {
	ServerAddr string `json:"serverAddr"`
	MountDir   string `json:"mountDir"`
	EnableTLS  bool   `json:"enableTLS,omitempty"`
}

// TracingConfig is a service's tracing setting. Sending {} clears it, and a
// cleared config reads back as {"type":null,"params":null} (Node SDK test).
type TracingConfig struct {
	Type   *string           `json:"type"`
	Params map[string]string `json:"params"`
}

// OSSMountConfig is FC's object-storage mount configuration.
type OSSMountConfig struct {
	MountPoints []OSSMountPoint `json:"mountPoints"`
}

// OSSMountPoint is one object-storage mount.
type OSSMountPoint struct {
	BucketName string `json:"bucketName"`
	BucketPath string `json:"bucketPath"`
	Endpoint   string `json:"endpoint"`
	MountDir   string `json:"mountDir"`
	ReadOnly   bool   `json:"readOnly"`
}

// ApplyDefaults fills what FC fills on create: empty sub-objects and
// internetAccess true.
func (s *Service) ApplyDefaults() {
	if s.LogConfig == nil {
		s.LogConfig = &LogConfig{}
	}
	if s.VPCConfig == nil {
		s.VPCConfig = &VPCConfig{VSwitchIDs: []string{}}
	}
	if s.VPCConfig.VSwitchIDs == nil {
		s.VPCConfig.VSwitchIDs = []string{}
	}
	if s.InternetAccess == nil {
		t := true
		s.InternetAccess = &t
	}
	if s.NASConfig == nil {
		s.NASConfig = &NASConfig{UserID: -1, GroupID: -1, MountPoints: []NASMountPoint{}}
	}
	if s.NASConfig.MountPoints == nil {
		s.NASConfig.MountPoints = []NASMountPoint{}
	}
	if s.TracingConfig == nil {
		s.TracingConfig = &TracingConfig{}
	}
}
