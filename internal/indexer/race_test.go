//go:build race

package indexer_test

// raceEnabled makes the process test build the indexer with -race too, so
// it links from the packages the race-enabled test build already compiled.
const raceEnabled = true
