package function

import (
	"context"
	"net/netip"
	"time"

	"smsverify/function/limit"
)

// limitSet is the set of limits one request takes: reqs[i] is refused with
// the code names[i]. at is when allow took them, and left[i] what was then
// left of reqs[i] (limit.Decision.Left).
type limitSet struct {
	reqs  []limit.Request
	names []string
	at    time.Time
	left  []int
}

// add appends one limit and its refusal code.
func (l *limitSet) add(key string, rate limit.Rate, code string) {
	l.reqs = append(l.reqs, limit.Request{Key: key, Rate: rate})
	l.names = append(l.names, code)
}

// only returns the limits of l refused with code, taken at the same time.
func (l *limitSet) only(code string) limitSet {
	out := limitSet{at: l.at}
	for i, name := range l.names {
		if name == code {
			out.add(l.reqs[i].Key, l.reqs[i].Rate, name)
		}
	}
	return out
}

// allow takes one slot of every limit in l, or none and answers the first
// refusal.
func (s *Service) allow(ctx context.Context, l *limitSet) *apiError {
	l.at = s.now()
	d, err := s.store.Allow(ctx, l.at, l.reqs...)
	if err != nil {
		return storeDown(err)
	}
	if d.Allowed {
		l.left = d.Left
		return nil
	}
	code := l.names[d.Denied]
	e := newError(code, limitMessages[code])
	e.RetryAfter = d.RetryAfter
	return e
}

// leftOf is what allow left of the limit refused with code, when the
// store said.
func (l *limitSet) leftOf(code string) (int, bool) {
	for i, name := range l.names {
		if name == code && i < len(l.left) {
			return l.left[i], true
		}
	}
	return 0, false
}

// refund gives back the slots allow took for l. It runs even when the
// caller has gone: the slots were taken for nothing.
func (s *Service) refund(ctx context.Context, l *limitSet) error {
	if len(l.reqs) == 0 {
		return nil
	}
	ctx, cancel := afterward(ctx)
	defer cancel()
	return s.store.Refund(ctx, l.at, l.reqs...)
}

var limitMessages = map[string]string{
	CodeSendLimitPhone:  "too many codes sent to this number; try again later",
	CodeSendLimitIP:     "too many codes requested from this address; try again later",
	CodeSendLimitGlobal: "the service has sent all the codes it may for now; try again later",
	CodeCheckLimitPhone: "too many checks for this number; wait, then try again",
	CodeCheckLimitIP:    "too many checks from this address; wait, then try again",
}

// sendLimits are the limits a send to the number whose phoneHash is num
// takes: per number, per client address (public callers only) and the
// global budget.
func (s *Service) sendLimits(c caller, num string) limitSet {
	l := limitSet{reqs: make([]limit.Request, 0, 3), names: make([]string, 0, 3)}
	l.add("send:phone:"+num, s.cfg.SendLimitPerPhone, CodeSendLimitPhone)
	if !c.trusted() {
		l.add("send:ip:"+s.secureHash("ip", ipKey(c.ip)), s.cfg.SendLimitPerIP, CodeSendLimitIP)
	}
	l.add("send:global", s.cfg.SendLimitGlobal, CodeSendLimitGlobal)
	return l
}

// checkLimits are the limits a check of the number whose phoneHash is num
// takes: per number and per client address (public callers only).
func (s *Service) checkLimits(c caller, num string) limitSet {
	l := limitSet{reqs: make([]limit.Request, 0, 2), names: make([]string, 0, 2)}
	l.add("check:phone:"+num, s.cfg.CheckLimitPerPhone, CodeCheckLimitPhone)
	if !c.trusted() {
		l.add("check:ip:"+s.secureHash("ip", ipKey(c.ip)), s.cfg.CheckLimitPerIP, CodeCheckLimitIP)
	}
	return l
}

// ipKey names a client address for the IP limits. An IPv6 client usually
// holds a whole /64, so the limit applies to the /64.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}
