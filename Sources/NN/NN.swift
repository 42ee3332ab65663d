// NN layer. See DESIGN.md for what lives here.
