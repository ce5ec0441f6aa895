package ode

// Tableau is the Butcher tableau of an explicit Runge–Kutta method, with an
// optional embedded error estimate and an optional continuous extension. A
// *Tableau is a Solver: one generic step (rk.go) drives every tableau.
//
// The stages of a step of size h from (t, y) are
//
//	kᵢ = f(t + Cᵢh, y + h Σ_{j<i} A[i][j] kⱼ),   y₁ = y + h Σ Bᵢkᵢ,
//
// and the local error estimate is h Σ Eᵢkᵢ (E = B − B̂ for the embedded
// weights B̂). The package's tableaus are shared values and must not be
// modified; copy one to experiment.
type Tableau struct {
	// Name identifies the method in errors and reports.
	Name string
	// C holds the stage times as fractions of the step.
	C []float64
	// A holds the stage coefficients: row i has i entries.
	A [][]float64
	// B holds the weights of the propagated solution.
	B []float64
	// E holds the error weights B − B̂; nil means no error estimate, so the
	// method can only take fixed steps (Settings.Step).
	E []float64
	// Order is the order of the propagated solution and ErrOrder the order
	// q of the embedded one (the error estimate is O(h^(q+1))).
	Order, ErrOrder int
	// FSAL (first same as last) marks tableaus whose last stage is f at
	// the new solution (C = 1, last row of A equal to B), which is then
	// reused as the first stage of the next step.
	FSAL bool
	// Dense holds a continuous extension: y(t+θh) = y + h Σᵢ bᵢ(θ) kᵢ with
	// bᵢ(θ) = Σⱼ Dense[i][j] θ^(j+1). Nil means cubic Hermite interpolation
	// from the values and derivatives at both ends of the step.
	Dense [][]float64
}

// Euler is the forward Euler method, order 1, fixed step.
var Euler = &Tableau{
	Name:  "Euler",
	C:     []float64{0},
	A:     [][]float64{{}},
	B:     []float64{1},
	Order: 1,
}

// Heun is Heun's method (explicit trapezoidal rule), order 2, fixed step.
var Heun = &Tableau{
	Name:  "Heun",
	C:     []float64{0, 1},
	A:     [][]float64{{}, {1}},
	B:     []float64{0.5, 0.5},
	Order: 2,
}

// RK4 is the classical fourth-order Runge–Kutta method, fixed step.
var RK4 = &Tableau{
	Name:  "RK4",
	C:     []float64{0, 0.5, 0.5, 1},
	A:     [][]float64{{}, {0.5}, {0, 0.5}, {0, 0, 1}},
	B:     []float64{1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6},
	Order: 4,
}

// BS3 is the Bogacki–Shampine 3(2) pair (FSAL), with cubic Hermite dense
// output (which is its natural interpolant). Bogacki & Shampine, Appl. Math.
// Lett. 2 (1989).
var BS3 = &Tableau{
	Name:     "BS3",
	C:        []float64{0, 0.5, 0.75, 1},
	A:        [][]float64{{}, {0.5}, {0, 0.75}, {2.0 / 9, 1.0 / 3, 4.0 / 9}},
	B:        []float64{2.0 / 9, 1.0 / 3, 4.0 / 9, 0},
	E:        []float64{2.0/9 - 7.0/24, 1.0/3 - 1.0/4, 4.0/9 - 1.0/3, -1.0 / 8},
	Order:    3,
	ErrOrder: 2,
	FSAL:     true,
}

// DP5 is the Dormand–Prince 5(4) pair (FSAL, the method of DOPRI5 and
// ode45) with Shampine's fourth-order continuous extension (Hairer, Nørsett
// & Wanner, Solving ODEs I, II.6), here expanded into polynomial weights.
var DP5 = &Tableau{
	Name: "DP5",
	C:    []float64{0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1},
	A: [][]float64{
		{},
		{1.0 / 5},
		{3.0 / 40, 9.0 / 40},
		{44.0 / 45, -56.0 / 15, 32.0 / 9},
		{19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
		{9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
		{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
	},
	B: []float64{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0},
	E: []float64{71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40},
	Dense: [][]float64{
		{1, -8048581381.0 / 2820520608, 8663915743.0 / 2820520608, -12715105075.0 / 11282082432},
		{0, 0, 0, 0},
		{0, 131558114200.0 / 32700410799, -68118460800.0 / 10900136933, 87487479700.0 / 32700410799},
		{0, -1754552775.0 / 470086768, 14199869525.0 / 1410260304, -10690763975.0 / 1880347072},
		{0, 127303824393.0 / 49829197408, -318862633887.0 / 49829197408, 701980252875.0 / 199316789632},
		{0, -282668133.0 / 205662961, 2019193451.0 / 616988883, -1453857185.0 / 822651844},
		{0, 40617522.0 / 29380423, -110615467.0 / 29380423, 69997945.0 / 29380423},
	},
	Order:    5,
	ErrOrder: 4,
	FSAL:     true,
}

// Tsit5 is Tsitouras' 5(4) pair (FSAL) with its fourth-order continuous
// extension. Ch. Tsitouras, Comput. Math. Appl. 62 (2011) 770–775.
var Tsit5 = &Tableau{
	Name: "Tsit5",
	C:    []float64{0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1},
	A: [][]float64{
		{},
		{0.161},
		{-0.008480655492356989, 0.335480655492357},
		{2.8971530571054935, -6.359448489975075, 4.3622954328695815},
		{5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525},
		{5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383},
		{0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774},
	},
	B: []float64{0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0},
	E: []float64{-0.00178001105222577714, -0.0008164344596567469, 0.007880878010261995, -0.1447110071732629,
		0.5823571654525552, -0.45808210592918697, 0.015151515151515152},
	Dense: [][]float64{
		{1, -2.763706197274826, 2.9132554618219126, -1.0530884977290216},
		{0, 0.13169999999999998, -0.2234, 0.1017},
		{0, 3.9302962368947516, -5.941033872131505, 2.490627285651253},
		{0, -12.411077166933676, 30.33818863028232, -16.548102889244902},
		{0, 37.50931341651104, -88.1789048947664, 47.37952196281928},
		{0, -27.896526289197286, 65.09189467479366, -34.87065786149661},
		{0, 1.5, -4, 2.5},
	},
	Order:    5,
	ErrOrder: 4,
	FSAL:     true,
}

// RosenbrockTableau holds the coefficients of a Rosenbrock method in the
// form of Hairer & Wanner (Solving ODEs II, IV.7, eq. (7.25)) that avoids
// matrix–vector products with the Jacobian J = ∂f/∂y. With M = I/(hγ) − J,
// each stage solves
//
//	M kᵢ = f(t + Alphaᵢh, y + Σ_{j<i} A[i][j] kⱼ) + h Dᵢ ∂f/∂t + Σ_{j<i} (C[i][j]/h) kⱼ,
//
// and y₁ = y + Σ Bᵢkᵢ with local error estimate Σ Eᵢkᵢ. One Jacobian and one
// LU factorisation serve a whole step. The package's tableaus are shared
// values and must not be modified.
type RosenbrockTableau struct {
	// Name identifies the method in errors and reports.
	Name string
	// Gamma is the diagonal coefficient γ.
	Gamma float64
	// A and C hold the stage couplings (row i has i entries).
	A, C [][]float64
	// Alpha holds the stage times as fractions of the step.
	Alpha []float64
	// D holds the weights γᵢ of the time derivative ∂f/∂t.
	D []float64
	// B holds the solution weights and E the error weights.
	B, E []float64
	// Order is the order of the solution and ErrOrder that of the embedded
	// one.
	Order, ErrOrder int
	// H holds the dense-output coefficients: with Kₘ = Σⱼ H[m][j] kⱼ,
	// y(t+θh) = (1−θ)y + θ(y₁ + (1−θ)(K₀ + θK₁)). Nil means cubic Hermite.
	H [][]float64
}

// Rodas4 is the L-stable, stiffly accurate Rosenbrock method RODAS of order
// 4(3) with γ = 1/4 and a third-order continuous extension (Hairer & Wanner,
// Solving ODEs II, VI.4; coefficients of their RODAS code). It is the
// package's stiff solver.
var Rodas4 = &RosenbrockTableau{
	Name:  "Rodas4",
	Gamma: 0.25,
	A: [][]float64{
		{},
		{1.544},
		{0.9466785280815826, 0.2557011698983284},
		{3.314825187068521, 2.896124015972201, 0.9986419139977817},
		{1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950},
		{1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950, 1},
	},
	C: [][]float64{
		{},
		{-5.6688},
		{-2.430093356833875, -0.2063599157091915},
		{-0.1073529058151375, -9.594562251023355, -20.47028614809616},
		{7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160},
		{8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054},
	},
	Alpha: []float64{0, 0.386, 0.21, 0.63, 1, 1},
	D:     []float64{0.25, -0.1043, 0.1035, -0.0362, 0, 0},
	B:     []float64{1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950, 1, 1},
	E:     []float64{0, 0, 0, 0, 0, 1},
	H: [][]float64{
		{10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662, 0},
		{-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872, 0},
	},
	Order:    4,
	ErrOrder: 3,
}
