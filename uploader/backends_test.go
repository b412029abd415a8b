package uploader_test

// allBackends lists the stores the end-to-end tests run against.
func allBackends() []backend { return []backend{dirBackend()} }
