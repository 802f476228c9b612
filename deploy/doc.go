// Package deploy checks the deploy files (s.yaml for Function Compute,
// template.yaml for AWS SAM, and the Makefile that builds both artifacts)
// against each other and against function.Config. It holds only tests.
package deploy
