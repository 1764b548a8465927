import { buildImages } from "redis-repro/vitest";

export default buildImages(["3.2.8", "3.2.8+fix-aof-pipe-leak"]);
