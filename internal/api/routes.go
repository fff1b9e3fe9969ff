package api

import "net/http"

// routes registers every endpoint of spec §2.1 that openfc serves.
func (s *Server) routes() {
	const p = "/2016-08-15"
	h := func(pattern string, fn handlerFunc) { s.mux.Handle(pattern, s.handle(fn)) }

	h("POST "+p+"/services", s.createService)
	h("GET "+p+"/services", s.listServices)
	h("GET "+p+"/services/{service}", s.getService)
	h("PUT "+p+"/services/{service}", s.updateService)
	h("DELETE "+p+"/services/{service}", s.deleteService)

	h("POST "+p+"/services/{service}/functions", s.createFunction)
	h("GET "+p+"/services/{service}/functions", s.listFunctions)
	h("GET "+p+"/services/{service}/functions/{function}", s.getFunction)
	h("PUT "+p+"/services/{service}/functions/{function}", s.updateFunction)
	h("DELETE "+p+"/services/{service}/functions/{function}", s.deleteFunction)
	h("GET "+p+"/services/{service}/functions/{function}/code", s.getFunctionCode)
	h("GET "+p+"/services/{service}/functions/{function}/instances", s.listInstances)

	h("POST "+p+"/services/{service}/functions/{function}/triggers", s.createTrigger)
	h("GET "+p+"/services/{service}/functions/{function}/triggers", s.listTriggers)
	h("GET "+p+"/services/{service}/functions/{function}/triggers/{trigger}", s.getTrigger)
	h("PUT "+p+"/services/{service}/functions/{function}/triggers/{trigger}", s.updateTrigger)
	h("DELETE "+p+"/services/{service}/functions/{function}/triggers/{trigger}", s.deleteTrigger)

	h("POST "+p+"/services/{service}/versions", s.publishVersion)
	h("GET "+p+"/services/{service}/versions", s.listVersions)
	h("DELETE "+p+"/services/{service}/versions/{version}", s.deleteVersion)
	h("POST "+p+"/services/{service}/aliases", s.createAlias)
	h("GET "+p+"/services/{service}/aliases", s.listAliases)
	h("GET "+p+"/services/{service}/aliases/{alias}", s.getAlias)
	h("PUT "+p+"/services/{service}/aliases/{alias}", s.updateAlias)
	h("DELETE "+p+"/services/{service}/aliases/{alias}", s.deleteAlias)

	h("POST "+p+"/custom-domains", s.createCustomDomain)
	h("GET "+p+"/custom-domains", s.listCustomDomains)
	h("GET "+p+"/custom-domains/{domain}", s.getCustomDomain)
	h("PUT "+p+"/custom-domains/{domain}", s.updateCustomDomain)
	h("DELETE "+p+"/custom-domains/{domain}", s.deleteCustomDomain)

	h("PUT "+p+"/services/{service}/functions/{function}/provision-config", s.putProvisionConfig)
	h("GET "+p+"/services/{service}/functions/{function}/provision-config", s.getProvisionConfig)
	h("GET "+p+"/provision-configs", s.listProvisionConfigs)
	h("PUT "+p+"/services/{service}/functions/{function}/on-demand-config", s.putOnDemandConfig)
	h("GET "+p+"/services/{service}/functions/{function}/on-demand-config", s.getOnDemandConfig)
	h("DELETE "+p+"/services/{service}/functions/{function}/on-demand-config", s.deleteOnDemandConfig)
	h("GET "+p+"/on-demand-configs", s.listOnDemandConfigs)
	h("PUT "+p+"/services/{service}/functions/{function}/async-invoke-config", s.putAsyncConfig)
	h("GET "+p+"/services/{service}/functions/{function}/async-invoke-config", s.getAsyncConfig)
	h("DELETE "+p+"/services/{service}/functions/{function}/async-invoke-config", s.deleteAsyncConfig)
	h("GET "+p+"/services/{service}/functions/{function}/async-invoke-configs", s.listAsyncConfigs)
	h("GET "+p+"/services/{service}/functions/{function}/stateful-async-invocations", s.listStatefulInvocations)
	h("GET "+p+"/services/{service}/functions/{function}/stateful-async-invocations/{id}", s.getStatefulInvocation)
	h("PUT "+p+"/services/{service}/functions/{function}/stateful-async-invocations/{id}", s.stopStatefulInvocation)
	h("GET "+p+"/stateful-async-invocation-functions", s.listStatefulFunctions)

	h("POST "+p+"/layers/{layer}/versions", s.publishLayerVersion)
	h("GET "+p+"/layers", s.listLayers)
	h("GET "+p+"/layers/{layer}/versions", s.listLayerVersions)
	h("GET "+p+"/layers/{layer}/versions/{version}", s.getLayerVersion)
	h("DELETE "+p+"/layers/{layer}/versions/{version}", s.deleteLayerVersion)
	h("GET "+p+"/layerarn/{arn}", s.getLayerByARN)
	h("PUT "+p+"/layers/{layer}/acl", s.putLayerACL)

	h("POST "+p+"/tag", s.tagResource)
	h("DELETE "+p+"/tag", s.untagResource)
	h("GET "+p+"/tag", s.getResourceTags)
	h("GET "+p+"/tags", s.listTaggedResources)

	h("GET "+p+"/account-settings", s.getAccountSettings)
	h("GET "+p+"/accountConfigs", s.getAccountConfigs)
	h("GET "+p+"/reservedCapacities", s.listReservedCapacities)

	h("POST "+p+"/services/{service}/functions/{function}/invocations", s.invokeFunction)
	s.mux.Handle(p+"/proxy/", s.handle(s.proxy))

	h("GET /openfc/v1/code/{sha}", s.downloadCode)
	h("POST /openfc/v1/events/oss/{service}/{function}/{trigger}", s.ossEvent)
	s.limitsRoutes(h)
	h("GET /openfc/v1/async/dead-letters", s.listDeadLetters)
	h("POST /openfc/v1/async/dead-letters/redrive", s.redriveDeadLetters)
	h("DELETE /openfc/v1/async/dead-letters", s.purgeDeadLetters)
	h("GET /openfc/v1/logs", s.queryLogs)
	h("GET /openfc/v1/logs/tail", s.queryLogs)
	h("GET /openfc/v1/usage", s.getUsage)
	h("GET /openfc/v1/usage/records", s.listUsageRecords)
	h("GET /openfc/v1/audit", s.listAudit)

	s.mux.Handle("/", s.handle(s.notSupported))
	_ = http.MethodGet
}
