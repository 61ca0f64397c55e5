from dltp.cli import main

raise SystemExit(main())
