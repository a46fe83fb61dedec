// The `rlmemory` command; the commands live in RlMemory.App.RlMemoryCli.
return RlMemory.App.RlMemoryCli.RunProcess(args);
