"""Video: MOT tracks files, reading and writing clips, numbers per track, synthetic clips."""
