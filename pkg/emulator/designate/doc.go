// Package designate is the emulator's DNS service (Designate v2, as
// Designate 15 "Antelope" answers): version discovery; zones (PENDING ->
// ACTIVE after -delay, serials, SOA and NS recordsets made and kept by
// the service, subzones, deletion PENDING -> gone); recordsets (A, AAAA,
// CNAME, MX, NS, PTR, SRV, TXT, SPF, CAA, SSHFP, NAPTR, CERT, validated
// as Designate does), per zone and across zones; nameservers; quotas and
// limits; the X-Auth-All-Projects and X-Auth-Sudo-Project-ID headers;
// Designate's error shape {"code", "type", "message", "request_id"}.
//
// No name server answers DNS queries for the zones.
package designate
