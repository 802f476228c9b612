//go:build !race

package core

import "testing"

// TestSignAllocationBudget keeps BenchmarkSign's allocation budget honest:
// signing one Send allocates at most 15 times. (Not under -race, which adds
// allocations of its own.)
func TestSignAllocationBudget(t *testing.T) {
	if allocs := testing.AllocsPerRun(100, func() { signSend(benchSend, benchCreds) }); allocs > 15 {
		t.Errorf("signing one Send allocates %.0f times, budget 15", allocs)
	}
}
