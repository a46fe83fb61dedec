// The `rlmemory` command-line tool; the commands live in RlMemory.Training.CommandLine.RlMemoryCli.
return RlMemory.Training.CommandLine.RlMemoryCli.Main(args);
