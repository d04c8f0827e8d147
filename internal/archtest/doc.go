// Package archtest holds no code, only a test: it checks that the packages
// of this module import one another only in the directions the README's
// "Packages" table and docs/ARCHITECTURE.md allow, so that a forbidden
// import (parse importing crawler, crawler importing output, a frontier
// backend importing crawler, ...) fails the build's tests instead of
// slipping in unnoticed.
//
// The rules are one table, rules in archtest_test.go: for each package,
// the packages of this module its non-test files may import. A package
// missing from the table fails the test too, so a new package gets its row
// here, in the README and in its own doc.go.
//
// Package archtest imports no package of this module.
package archtest
