// Package domain holds the integrator-policy rules, with no I/O: how an
// email matches a certified partner, how many integrators a tenant may have
// and who gives way when another is invited or accepts (seed 003: only one
// active integrator; inviting another automatically dismisses the current
// one), and which administrative actions an integrator may not take.
//
// The Tenant aggregate is loaded and saved under a row lock by the store;
// its methods change it and record the events to publish. It is not a cache:
// every decision is made on freshly locked state.
package domain
