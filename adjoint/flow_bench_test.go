package adjoint

import "testing"

// The cost of recording a Flow on the shared workloads W1 and W2, to set
// against BenchmarkW1ForwardBackward and BenchmarkW2ForwardBackward:
//
//	GOMAXPROCS=1 go test ./adjoint -run '^$' -bench 'W[12]ForwardBackward' -benchmem

func BenchmarkW1ForwardBackwardFlow(b *testing.B) {
	m, x, y := w1()
	ps := m.params()
	var f Flow
	b.ReportAllocs()
	for b.Loop() {
		Backward(softmaxCE(m.forward(x, false), y), ps, &GradSettings{Flow: &f})
	}
}

func BenchmarkW2ForwardBackwardFlow(b *testing.B) {
	m, x, y := w2()
	ps := m.params()
	var f Flow
	b.ReportAllocs()
	for b.Loop() {
		Backward(Mean(Square(Sub(m.forward(x, false), y))), ps, &GradSettings{Flow: &f})
	}
}
