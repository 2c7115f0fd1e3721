from torchlean_runtime.cli import main

raise SystemExit(main())
