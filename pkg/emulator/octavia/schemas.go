package octavia

import "regexp"

// The WSME types of octavia/api/v2/types, as bodies are checked against.

const (
	minPort, maxPort       = 1, 65535
	maxTimeout             = 24 * 24 * 60 * 60 * 1000
	minWeight, maxWeight   = 0, 256
	minRetries, maxRetries = 1, 10
	minQuota, maxQuota     = -1, 2000000000
	maxRulesPerPolicy      = 50
	ciphersOWASPSuiteB     = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:" +
		"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:" +
		"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:" +
		"ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256"
)

var (
	listenerProtocols = []string{"TCP", "HTTPS", "HTTP", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"}
	poolProtocols     = []string{"TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"}
	lbAlgorithms      = []string{"LEAST_CONNECTIONS", "ROUND_ROBIN", "SOURCE_IP", "SOURCE_IP_PORT"}
	spTypes           = []string{"SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"}
	hmTypes           = []string{"HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"}
	hmMethods         = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}
	clientAuthModes   = []string{"NONE", "OPTIONAL", "MANDATORY"}
	alpnProtocols     = []string{"http/1.0", "http/1.1", "h2"}
	tlsVersions       = []string{"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	defaultTLS        = []string{"TLSv1.2", "TLSv1.3"}
	defaultALPN       = []string{"h2", "http/1.1", "http/1.0"}
	l7Actions         = []string{"REJECT", "REDIRECT_TO_URL", "REDIRECT_TO_POOL", "REDIRECT_PREFIX"}
	l7RuleTypes       = []string{"HOST_NAME", "PATH", "FILE_TYPE", "HEADER", "COOKIE", "SSL_CONN_HAS_CERT",
		"SSL_VERIFY_RESULT", "SSL_DN_FIELD"}
	l7CompareTypes = []string{"REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"}
	redirectCodes  = []string{"301", "302", "303", "307", "308"}

	// validListenerPool is VALID_LISTENER_POOL_PROTOCOL_MAP.
	validListenerPool = map[string][]string{
		"TCP":              {"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"},
		"HTTP":             {"HTTP", "PROXY", "PROXYV2"},
		"HTTPS":            {"HTTPS", "PROXY", "PROXYV2", "TCP"},
		"TERMINATED_HTTPS": {"HTTP", "PROXY", "PROXYV2"},
		"UDP":              {"UDP"},
		"SCTP":             {"SCTP"},
		"PROMETHEUS":       {},
	}
	// l4Protocol is L4_PROTOCOL_MAP.
	l4Protocol = map[string]string{"TCP": "TCP", "HTTP": "TCP", "HTTPS": "TCP", "TERMINATED_HTTPS": "TCP",
		"PROXY": "TCP", "PROXYV2": "TCP", "UDP": "UDP", "SCTP": "SCTP", "PROMETHEUS": "TCP"}
	supportedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto",
		"X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN", "X-SSL-Client-CN",
		"X-SSL-Issuer", "X-SSL-Client-SHA1", "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After"}
	sslHeaders = []string{"X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN", "X-SSL-Client-CN",
		"X-SSL-Issuer", "X-SSL-Client-SHA1", "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After"}
)

func portAttr(name string) *attr { return intAttr(name, i64(minPort), i64(maxPort)) }
func timeoutAttr(name string) *attr {
	return intAttr(name, i64(0), i64(maxTimeout))
}

var (
	cookieRE        = regexp.MustCompile(`^[^\s,;\\]+$`)
	expectedCodesRE = regexp.MustCompile(`^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$`)
	domainNameRE    = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.?$`)
	l7ValueRE       = regexp.MustCompile(`^[^\s]+$`)
)

var spPOST = newType(
	enumAttr("type", spTypes...).required(),
	&attr{name: "cookie_name", kind: kString, max: i64(255), pattern: cookieRE},
	intAttr("persistence_timeout", nil, nil),
	ipAttr("persistence_granularity"),
)

var spPUT = newType(
	enumAttr("type", spTypes...),
	&attr{name: "cookie_name", kind: kString, max: i64(255), pattern: cookieRE},
	intAttr("persistence_timeout", nil, nil),
	ipAttr("persistence_granularity"),
)

var memberSingle = newType(
	str("name", 255), boolAttr("admin_state_up"), ipAttr("address").required(),
	portAttr("protocol_port").required(), intAttr("weight", i64(minWeight), i64(maxWeight)),
	boolAttr("backup"), uuidAttr("subnet_id"), portAttr("monitor_port"), ipAttr("monitor_address"), tagsAttr(),
)

var memberPOST = memberSingle.extend(&attr{name: "project_id", kind: kString, max: i64(36)})

var memberPUT = newType(
	str("name", 255), boolAttr("admin_state_up"), intAttr("weight", i64(minWeight), i64(maxWeight)),
	boolAttr("backup"), portAttr("monitor_port"), ipAttr("monitor_address"), tagsAttr(),
)

var hmSingle = newType(
	str("name", 255), enumAttr("type", hmTypes...).required(),
	intAttr("delay", i64(0), nil).required(), intAttr("timeout", i64(0), nil).required(),
	intAttr("max_retries_down", i64(minRetries), i64(maxRetries)),
	intAttr("max_retries", i64(minRetries), i64(maxRetries)).required(),
	enumAttr("http_method", hmMethods...), &attr{name: "url_path", kind: kURLPath},
	&attr{name: "expected_codes", kind: kString, pattern: expectedCodesRE},
	boolAttr("admin_state_up"), tagsAttr(),
	&attr{name: "http_version", kind: kFloatEnum, floats: []float64{1.0, 1.1}},
	&attr{name: "domain_name", kind: kString, min: i64(1), max: i64(255), pattern: domainNameRE},
)

var hmPOST = hmSingle.extend(uuidAttr("pool_id").required(), &attr{name: "project_id", kind: kString, max: i64(36)})

var hmPUT = newType(
	str("name", 255), intAttr("delay", i64(0), nil), intAttr("timeout", i64(0), nil),
	intAttr("max_retries_down", i64(minRetries), i64(maxRetries)),
	intAttr("max_retries", i64(minRetries), i64(maxRetries)),
	enumAttr("http_method", hmMethods...), &attr{name: "url_path", kind: kURLPath},
	&attr{name: "expected_codes", kind: kString, pattern: expectedCodesRE},
	boolAttr("admin_state_up"), tagsAttr(),
	&attr{name: "http_version", kind: kFloatEnum, floats: []float64{1.0, 1.1}},
	&attr{name: "domain_name", kind: kString, min: i64(1), max: i64(255), pattern: domainNameRE},
)

var poolTLS = []*attr{
	str("tls_container_ref", 255), str("ca_tls_container_ref", 255), str("crl_container_ref", 255),
	boolAttr("tls_enabled"), str("tls_ciphers", 2048), strList("tls_versions", 32),
	{name: "alpn_protocols", kind: kEnumList, enum: alpnProtocols},
}

var poolSingle = newType(append([]*attr{
	str("name", 255), str("description", 255), boolAttr("admin_state_up"),
	enumAttr("protocol", poolProtocols...), enumAttr("lb_algorithm", lbAlgorithms...),
	object("session_persistence", spPOST), object("healthmonitor", hmSingle),
	objList("members", memberSingle), tagsAttr(),
}, poolTLS...)...)

var poolPOST = poolSingle.extend(
	uuidAttr("listener_id"), uuidAttr("loadbalancer_id"),
	enumAttr("protocol", poolProtocols...).required(), enumAttr("lb_algorithm", lbAlgorithms...).required(),
	&attr{name: "project_id", kind: kString, max: i64(36)},
)

var poolPUT = newType(append([]*attr{
	str("name", 255), str("description", 255), boolAttr("admin_state_up"),
	enumAttr("lb_algorithm", lbAlgorithms...), object("session_persistence", spPUT), tagsAttr(),
}, poolTLS...)...)

var l7RuleSingle = newType(
	enumAttr("type", l7RuleTypes...).required(), enumAttr("compare_type", l7CompareTypes...).required(),
	str("key", 255), str("value", 255).required(), boolAttr("invert"), boolAttr("admin_state_up"), tagsAttr(),
)

var l7RulePOST = newType(
	enumAttr("type", l7RuleTypes...).required(), enumAttr("compare_type", l7CompareTypes...).required(),
	&attr{name: "key", kind: kString, max: i64(255), pattern: l7ValueRE},
	&attr{name: "value", kind: kString, max: i64(255), pattern: regexp.MustCompile(`^[^\n\r]+$`), mandatory: true},
	boolAttr("invert"), boolAttr("admin_state_up"), &attr{name: "project_id", kind: kString, max: i64(36)}, tagsAttr(),
)

var l7RulePUT = newType(
	enumAttr("type", l7RuleTypes...), enumAttr("compare_type", l7CompareTypes...),
	&attr{name: "key", kind: kString, max: i64(255), pattern: l7ValueRE},
	&attr{name: "value", kind: kString, max: i64(255), pattern: regexp.MustCompile(`^[^\n\r]+$`)},
	boolAttr("invert"), boolAttr("admin_state_up"), tagsAttr(),
)

var l7Common = []*attr{
	str("name", 255), str("description", 255), boolAttr("admin_state_up"),
	str("redirect_url", 2048), str("redirect_prefix", 2048),
	intAttr("position", i64(1), i64(2147483647)), tagsAttr(),
	{name: "redirect_http_code", kind: kEnum, enum: redirectCodes},
}

var l7PolicySingle = newType(append([]*attr{
	enumAttr("action", l7Actions...).required(), object("redirect_pool", poolSingle), objList("rules", l7RuleSingle),
}, l7Common...)...)

var l7PolicyPOST = newType(append([]*attr{
	enumAttr("action", l7Actions...).required(), uuidAttr("redirect_pool_id"), uuidAttr("listener_id").required(),
	objList("rules", l7RuleSingle), &attr{name: "project_id", kind: kString, max: i64(36)},
}, l7Common...)...)

var l7PolicyPUT = newType(append([]*attr{enumAttr("action", l7Actions...), uuidAttr("redirect_pool_id")}, l7Common...)...)

var listenerCommon = []*attr{
	str("name", 255), str("description", 255), boolAttr("admin_state_up"),
	intAttr("connection_limit", i64(-1), nil), str("default_tls_container_ref", 255),
	strList("sni_container_refs", 255), uuidAttr("default_pool_id"),
	{name: "insert_headers", kind: kStrDict, max: i64(255)},
	timeoutAttr("timeout_client_data"), timeoutAttr("timeout_member_connect"),
	timeoutAttr("timeout_member_data"), timeoutAttr("timeout_tcp_inspect"), tagsAttr(),
	str("client_ca_tls_container_ref", 255), enumAttr("client_authentication", clientAuthModes...),
	str("client_crl_container_ref", 255), {name: "allowed_cidrs", kind: kCIDRList},
	str("tls_ciphers", 2048), strList("tls_versions", 32),
	{name: "alpn_protocols", kind: kEnumList, enum: alpnProtocols},
}

var listenerSingle = newType(append([]*attr{
	enumAttr("protocol", listenerProtocols...).required(), portAttr("protocol_port").required(),
	object("default_pool", poolSingle), objList("l7policies", l7PolicySingle),
}, listenerCommon...)...)

var listenerPOST = listenerSingle.extend(
	uuidAttr("loadbalancer_id").required(), &attr{name: "project_id", kind: kString, max: i64(36)},
)

var listenerPUT = newType(listenerCommon...)

var additionalVIP = newType(uuidAttr("subnet_id").required(), ipAttr("ip_address"))

var lbPOST = newType(
	str("name", 255), str("description", 255), boolAttr("admin_state_up"),
	ipAttr("vip_address"), uuidAttr("vip_port_id"), uuidAttr("vip_subnet_id"), uuidAttr("vip_network_id"),
	uuidAttr("vip_qos_policy_id"), objList("additional_vips", additionalVIP),
	&attr{name: "project_id", kind: kString, max: i64(36)},
	objList("listeners", listenerSingle), objList("pools", poolSingle),
	str("provider", 64), tagsAttr(), uuidAttr("flavor_id"), str("availability_zone", 255),
)

var lbPUT = newType(str("name", 255), str("description", 255), uuidAttr("vip_qos_policy_id"),
	boolAttr("admin_state_up"), tagsAttr())

var quotaAttrs = newType(
	intAttr("loadbalancer", i64(minQuota), i64(maxQuota)), intAttr("load_balancer", i64(minQuota), i64(maxQuota)),
	intAttr("listener", i64(minQuota), i64(maxQuota)), intAttr("member", i64(minQuota), i64(maxQuota)),
	intAttr("pool", i64(minQuota), i64(maxQuota)), intAttr("healthmonitor", i64(minQuota), i64(maxQuota)),
	intAttr("health_monitor", i64(minQuota), i64(maxQuota)), intAttr("l7policy", i64(minQuota), i64(maxQuota)),
	intAttr("l7rule", i64(minQuota), i64(maxQuota)),
)

var flavorPOST = newType(str("name", 255).required(), str("description", 255), uuidAttr("flavor_profile_id").required(),
	boolAttr("enabled"))
var flavorPUT = newType(str("name", 255), str("description", 255), boolAttr("enabled"))
var flavorProfilePOST = newType(str("name", 255).required(), str("provider_name", 255).required(),
	str("flavor_data", 4096).required())
var flavorProfilePUT = newType(str("name", 255), str("provider_name", 255), str("flavor_data", 4096))
