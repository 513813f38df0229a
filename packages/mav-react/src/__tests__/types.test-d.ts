// Type-level checks, compiled by `pnpm typecheck`.
import type { MavStepEvent } from '@mav/client'
import type { ComponentProps, ComponentType, ReactElement } from 'react'
import { expectTypeOf } from 'vitest'
import type {
  MAVContainer,
  MAVContainerProps,
  MavPanelName,
  MavPanelProps,
  MavPanelSpec,
  MavRunScopeValue,
  MavUpdatePriority,
  MlpActivationsPanelProps,
  UseMavPanelOptions,
  UseMavRunResult,
} from '../index'

expectTypeOf<MavPanelName>().toEqualTypeOf<
  | 'generated_text'
  | 'top_predictions'
  | 'mlp_activations'
  | 'attention_entropy'
  | 'output_distribution'
  | 'token_confidence'
>()
expectTypeOf<ComponentType<MavPanelProps>>().toExtend<MavPanelSpec>()
expectTypeOf<ReactElement>().toExtend<MavPanelSpec>()
expectTypeOf<MAVContainerProps['panels']>().toEqualTypeOf<readonly MavPanelSpec[] | undefined>()
expectTypeOf<ComponentProps<typeof MAVContainer>>().toHaveProperty('events')
expectTypeOf<MlpActivationsPanelProps['scale']>().toEqualTypeOf<'linear' | 'log' | 'minmax' | undefined>()
expectTypeOf<MavPanelProps['step']>().toEqualTypeOf<MavStepEvent | null>()
expectTypeOf<UseMavRunResult['start']>().returns.toEqualTypeOf<Promise<void>>()

// The scope exposes the store and the selection, nothing of the frame schedule.
expectTypeOf<keyof MavRunScopeValue>().toEqualTypeOf<'store' | 'selection'>()
expectTypeOf<UseMavPanelOptions['priority']>().toEqualTypeOf<MavUpdatePriority | undefined>()
expectTypeOf<MavUpdatePriority>().toEqualTypeOf<'high' | 'normal' | 'low'>()
