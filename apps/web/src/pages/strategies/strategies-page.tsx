import { PageHeader } from '../../ui/page-header';

export function StrategiesPage() {
  return <PageHeader title="Strategies" />;
}
